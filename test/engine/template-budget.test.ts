import { describe, expect, test } from "bun:test";
import { Template } from "@huggingface/jinja";
import { JinjaTemplateChatWrapper } from "node-llama-cpp";
import { MAX_CHARS, MAX_ITEMS, withRenderBudget, withTemplateBudget } from "../../src/engine/template-budget.ts";

class Spent extends Error {}
const spent = (why: string) => new Spent(why);
const render = (template: string, items: Record<string, unknown> = {}) => new Template(template).render(items);
const CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
const NESTED = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";

function timed<T>(fn: () => T): { result?: T; error?: unknown; ms: number } {
  const started = performance.now();
  try {
    return { result: fn(), ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

describe("a chat template's renders", () => {
  test("run as before within the budget", () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}` }));
    const text = withTemplateBudget(() => render(CHATML, { messages, add_generation_prompt: true }), spent);
    expect(text).toStartWith("<|im_start|>user\nmessage 0<|im_end|>\n");
    expect(text).toEndWith("<|im_start|>assistant\n");
    expect(render("{{ range(3) | join(',') }}|{{ range(1, 7, 2) | join(',') }}|{{ range(3, 0, -1) | join(',') }}")).toBe("0,1,2|1,3,5|3,2,1");
  });

  test("stop when the budget's time is spent: a loop of 10^10 steps ends in about the budget", () => {
    const { error, ms } = timed(() => withTemplateBudget(() => render(NESTED), spent, 300));
    expect(error).toBeInstanceOf(Spent);
    expect((error as Error).message).toStartWith("rendering the chat template took longer than 0.3 s");
    expect(ms).toBeLessThan(1_500);
  });

  test("make no array or string past their limits, however few the steps", () => {
    // Each step doubles: 30 steps would be a billion items.
    const doubling = (op: string, start: string) => `{% set ns = namespace(x=${start}) %}{% for i in range(40) %}{% set ns.x = ns.x ${op} ns.x %}{% endfor %}{{ ns.x | length }}`;
    for (const [template, what] of [[doubling("+", "[1]"), "an array of 131072 items"], [doubling("~", "'x'"), `a string of ${MAX_CHARS * 2} characters`]] as const) {
      const { error, ms } = timed(() => withTemplateBudget(() => render(template), spent));
      expect(error).toBeInstanceOf(Spent);
      expect((error as Error).message).toStartWith(`the chat template made ${what}`);
      expect(ms).toBeLessThan(1_500);
    }
  });

  test("make no range() past MAX_ITEMS numbers, in a budget or not", () => {
    const { error, ms } = timed(() => withTemplateBudget(() => render("{% for x in range(999999999) %}x{% endfor %}"), spent));
    expect(error).toBeInstanceOf(Spent);
    expect((error as Error).message).toBe(`range() of 999999999 numbers in the chat template is more than the ${MAX_ITEMS} allowed`);
    expect(ms).toBeLessThan(500);
    expect(() => render("{{ range(0, 1000000000, 2) | length }}")).toThrow("more than the 100000 allowed");
    expect(render(`{{ range(${MAX_ITEMS}) | length }}`)).toBe(String(MAX_ITEMS));
  });

  test("a spent budget is reported even where node-llama-cpp swallows the render's error", () => {
    // Building the wrapper renders the template a few dozen ways, and some failures are only tried around.
    const template = `${CHATML}{% if tools %}${NESTED}{% endif %}`;
    const { error, ms } = timed(() => withTemplateBudget(() => new JinjaTemplateChatWrapper({ template }), spent, 300));
    expect(error).toBeInstanceOf(Spent);
    expect(ms).toBeLessThan(2_000);
  });

  test("a wrapper's prompts each render under a budget of their own", () => {
    // node-llama-cpp renders placeholders for the messages' texts, so the template goes by their number.
    const template = `${CHATML}{% if messages | length > 20 %}${NESTED}{% endif %}`;
    const wrapper = withRenderBudget(withTemplateBudget(() => new JinjaTemplateChatWrapper({ template }), spent), spent, 300);
    const turn = (text: string) => [{ type: "user" as const, text }, { type: "model" as const, response: [] }];
    expect(wrapper.generateContextState({ chatHistory: turn("Hi") }).contextText.toString()).toContain("Hi");
    const { error, ms } = timed(() => wrapper.generateContextState({ chatHistory: Array.from({ length: 20 }, (_, i) => turn(`${i}`)).flat() }));
    expect(error).toBeInstanceOf(Spent);
    expect(ms).toBeLessThan(1_500);
    // The next prompt has a budget of its own.
    expect(wrapper.generateContextState({ chatHistory: turn("Hi again") }).contextText.toString()).toContain("Hi again");
  });
});
