import { Environment, Interpreter } from "@huggingface/jinja";
import type { ChatWrapper } from "node-llama-cpp";

/**
 * Chat templates are programs, and a request may bring its own (/api/generate's `template`), as may
 * a GGUF pushed through /api/blobs and /api/create. node-llama-cpp renders them with
 * @huggingface/jinja, synchronously on the event loop, a few dozen times while it studies a new
 * template and again for every prompt: `{% for x in range(999999999) %}` would keep the server from
 * answering anything, and `range(999999999)` alone asks for gigabytes before the first iteration.
 *
 * So every render inside withTemplateBudget shares one budget of wall time, looked at after every
 * step of the interpreter (a hard bound on how long the event loop is held, give or take one
 * step), and no step may make an array of more than MAX_ITEMS items or a string of more than
 * MAX_CHARS characters (doubling one in a loop takes few steps but all the memory there is).
 * A spent budget makes every further step fail at once, and is reported when the budget's scope
 * ends even where node-llama-cpp swallows the render's error (it tries templates several ways).
 * Outside any budget, renders run as they always did, but `range()` still makes at most MAX_ITEMS.
 *
 * What one step can still do is bounded by its input, not by the template: a filter over a 10 MB
 * message (`|list`) runs to its end before the budget is looked at.
 */

/** How long the renders of one budget may take together: legitimate ones take milliseconds (10,000 ChatML messages: ~0.3 s). */
export const TEMPLATE_BUDGET_MS = 2_000;
/**
 * Items one array may have (a `range()`, a concatenation, a filter's result): past any real
 * template's loop (one per message, per tool), and what a loop over them costs before its first
 * step (~0.3 s here) stays within the budget's reach.
 */
export const MAX_ITEMS = 100_000;
/** Characters one string may have: twice the largest request body, so that every real prompt renders. */
export const MAX_CHARS = 64 * 2 ** 20;

interface Budget {
  deadline: number;
  ms: number;
  steps: number;
  /** why the budget is spent, once it is */
  spent?: string;
}

let active: Budget | undefined;

/**
 * Runs `fn` with every template render inside it sharing one time budget (nested calls share the
 * outer one). A spent budget is thrown as `onSpent(why)`, whatever `fn` made of the render errors.
 */
export function withTemplateBudget<T>(fn: () => T, onSpent: (why: string) => Error, ms = TEMPLATE_BUDGET_MS): T {
  if (active) return fn();
  const budget: Budget = { deadline: performance.now() + ms, ms, steps: 0 };
  active = budget;
  let result: T;
  try {
    result = fn();
  } catch (err) {
    if (budget.spent) throw onSpent(budget.spent);
    throw err;
  } finally {
    active = undefined;
  }
  if (budget.spent) throw onSpent(budget.spent);
  return result;
}

/**
 * The wrapper with its prompt rendering (what LlamaChat calls for every prompt, and what the
 * engine calls to count a prompt's tokens) under a budget of its own each time.
 */
export function withRenderBudget<W extends ChatWrapper>(wrapper: W, onSpent: (why: string) => Error, ms = TEMPLATE_BUDGET_MS): W {
  const generateContextState = wrapper.generateContextState.bind(wrapper);
  wrapper.generateContextState = (options) => withTemplateBudget(() => generateContextState(options), onSpent, ms);
  return wrapper;
}

function spend(budget: Budget | undefined, why: string): Error {
  if (budget) budget.spent ??= why;
  return new Error(why);
}

const evaluate = Interpreter.prototype.evaluate;
Interpreter.prototype.evaluate = function (statement, environment) {
  const budget = active;
  if (!budget) return evaluate.call(this, statement, environment);
  if (budget.spent) throw new Error(budget.spent);
  const result = evaluate.call(this, statement, environment);
  budget.steps++;
  if (performance.now() > budget.deadline) throw spend(budget, `rendering the chat template took longer than ${budget.ms / 1000} s (${budget.steps} steps)`);
  const value: unknown = result.value;
  if (Array.isArray(value) && value.length > MAX_ITEMS) throw spend(budget, `the chat template made an array of ${value.length} items, more than the ${MAX_ITEMS} allowed`);
  if (typeof value === "string" && value.length > MAX_CHARS) throw spend(budget, `the chat template made a string of ${value.length} characters, more than the ${MAX_CHARS} allowed`);
  return result;
};

type Range = (start: number, stop?: number, step?: number) => number[];
const bounded = new WeakMap<Range, Range>();

/** The global `range` every render's environment is given, bounded; what a template sets itself is left alone. */
const set = Environment.prototype.set;
Environment.prototype.set = function (name, value) {
  if (name === "range" && typeof value === "function" && value.name === "range") value = boundedRange(value as Range);
  return set.call(this, name, value);
};

function boundedRange(range: Range): Range {
  let wrapped = bounded.get(range);
  if (!wrapped) {
    wrapped = (start, stop, step = 1) => {
      const [from, to] = stop === undefined ? [0, start] : [start, stop];
      const count = step === 0 ? 0 : Math.ceil((to - from) / step);
      if (count > MAX_ITEMS) throw spend(active, `range() of ${count} numbers in the chat template is more than the ${MAX_ITEMS} allowed`);
      return range(start, stop, step);
    };
    bounded.set(range, wrapped);
  }
  return wrapped;
}
