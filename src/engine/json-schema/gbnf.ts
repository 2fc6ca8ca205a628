import type { CharSet } from "./charset.ts";
import { unenforceable } from "./errors.ts";

/**
 * The grammar as a tree before it becomes GBNF text: kept structured so that rules which can never
 * finish (a $ref cycle with no way out) are found and cut before llama.cpp sees them.
 */
export type Node =
  | { t: "lit"; text: string }
  /** one code point from the set */
  | { t: "chars"; set: CharSet }
  | { t: "ref"; rule: string }
  | { t: "seq"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; item: Node; min: number; max: number };

export const lit = (text: string): Node => (text === "" ? EMPTY : { t: "lit", text });
export const chars = (set: CharSet): Node => ({ t: "chars", set });
export const ref = (rule: string): Node => ({ t: "ref", rule });
export const EMPTY: Node = { t: "seq", items: [] };

export function seq(...items: Node[]): Node {
  const flat = items.flatMap((item) => (item.t === "seq" ? item.items : [item]));
  return flat.length === 1 ? flat[0]! : { t: "seq", items: flat };
}

export function alt(...items: Node[]): Node {
  const flat = items.flatMap((item) => (item.t === "alt" ? item.items : [item]));
  return flat.length === 1 ? flat[0]! : { t: "alt", items: flat };
}

export const rep = (item: Node, min: number, max: number): Node => (max === 0 ? EMPTY : min === 1 && max === 1 ? item : { t: "rep", item, min, max });
export const opt = (item: Node): Node => rep(item, 0, 1);

/** llama.cpp turns a repetition bound above this into "unbounded" (MAX_REPETITION_THRESHOLD), so larger ones are split. */
const MAX_REPETITIONS = 2000;
const CHUNK = 1000;

export class Grammar {
  /** undefined: reserved, defined later (a $ref being compiled, possibly recursively) */
  private readonly rules = new Map<string, Node | undefined>();
  /** rule → the schema path of the $ref it stands for, to name it when it can never finish */
  private readonly origins = new Map<string, string>();
  private readonly byBody = new Map<string, string>();

  /** A named rule for body; equal bodies share one rule. */
  rule(hint: string, body: Node): Node {
    const key = JSON.stringify(body);
    let name = this.byBody.get(key);
    if (!name) {
      name = this.reserve(hint);
      this.rules.set(name, body);
      this.byBody.set(key, name);
    }
    return ref(name);
  }

  reserve(hint: string, origin?: string): string {
    const base = hint.replace(/[^a-zA-Z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "r";
    let name = base;
    for (let i = 1; this.rules.has(name) || name === "root"; i++) name = `${base}-${i}`;
    this.rules.set(name, undefined);
    if (origin !== undefined) this.origins.set(name, origin);
    return name;
  }

  define(name: string, body: Node): void {
    this.rules.set(name, body);
  }

  /** GBNF text whose root is `root`; a rule that can never finish, or that recurses without consuming text, is refused. */
  toGbnf(root: Node): string {
    const rules = new Map([...this.rules].map(([name, body]) => [name, body!]));
    rules.set("root", root);
    const productive = fixpoint(rules, isProductive);
    for (const [name, origin] of this.origins) {
      if (!productive.has(name)) throw unenforceable(origin, "this $ref is circular: no finite JSON value satisfies it");
    }
    if (!productive.has("root")) throw unenforceable("", "no JSON value can satisfy this schema");
    for (const [name, body] of rules) rules.set(name, prune(body, productive) ?? EMPTY);
    const cycle = leftRecursion(rules);
    if (cycle) throw unenforceable(this.origins.get(cycle) ?? "", "this $ref refers to itself before any text: it is circular");
    return new Emitter(rules).emit();
  }
}

type Known = Set<string>;

function fixpoint(rules: Map<string, Node>, holds: (node: Node, known: Known) => boolean): Known {
  const known: Known = new Set();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, body] of rules) {
      if (!known.has(name) && holds(body, known)) {
        known.add(name);
        changed = true;
      }
    }
  }
  return known;
}

/** Whether the node can derive a finite text. */
function isProductive(node: Node, productive: Known): boolean {
  switch (node.t) {
    case "lit":
      return true;
    case "chars":
      return node.set.length > 0;
    case "ref":
      return productive.has(node.rule);
    case "seq":
      return node.items.every((item) => isProductive(item, productive));
    case "alt":
      return node.items.some((item) => isProductive(item, productive));
    case "rep":
      return node.min === 0 || isProductive(node.item, productive);
  }
}

function isNullable(node: Node, nullable: Known): boolean {
  switch (node.t) {
    case "lit":
    case "chars":
      return false;
    case "ref":
      return nullable.has(node.rule);
    case "seq":
      return node.items.every((item) => isNullable(item, nullable));
    case "alt":
      return node.items.some((item) => isNullable(item, nullable));
    case "rep":
      return node.min === 0 || isNullable(node.item, nullable);
  }
}

/** Drops the alternatives that can never finish; undefined when nothing is left. */
function prune(node: Node, productive: Known): Node | undefined {
  if (!isProductive(node, productive)) return undefined;
  switch (node.t) {
    case "seq":
      return seq(...node.items.map((item) => prune(item, productive)!));
    case "alt":
      return alt(...node.items.flatMap((item) => prune(item, productive) ?? []));
    case "rep": {
      const item = prune(node.item, productive);
      return item ? rep(item, node.min, node.max) : EMPTY;
    }
    default:
      return node;
  }
}

/** A rule that can reach itself without consuming text (llama.cpp refuses left recursion), or undefined. */
function leftRecursion(rules: Map<string, Node>): string | undefined {
  const nullable = fixpoint(rules, isNullable);
  const first = (node: Node, out: Set<string>): boolean => {
    // returns whether the node can be empty, so the caller knows to look further right
    switch (node.t) {
      case "ref":
        out.add(node.rule);
        return nullable.has(node.rule);
      case "seq":
        return node.items.every((item) => first(item, out));
      case "alt":
        return node.items.map((item) => first(item, out)).some(Boolean);
      case "rep":
        return first(node.item, out) || node.min === 0;
      default:
        return false;
    }
  };
  const edges = new Map([...rules].map(([name, body]) => {
    const out = new Set<string>();
    first(body, out);
    return [name, out] as const;
  }));
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string): string | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return name;
    state.set(name, "visiting");
    for (const next of edges.get(name) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    state.set(name, "done");
    return undefined;
  };
  for (const name of rules.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Writes the rules reachable from root as GBNF, root first. */
class Emitter {
  private readonly out: string[] = [];
  private readonly emitted = new Set<string>();
  private readonly extra = new Map<string, string>();
  private readonly blocks = new Map<string, string>();

  constructor(private readonly rules: Map<string, Node>) {}

  emit(): string {
    this.emitRule("root");
    return this.out.join("\n") + "\n";
  }

  private emitRule(name: string): void {
    if (this.emitted.has(name)) return;
    this.emitted.add(name);
    const at = this.out.push("") - 1;
    this.out[at] = `${name} ::= ${this.render(this.rules.get(name)!, "top")}`;
  }

  private render(node: Node, context: "top" | "seq" | "atom"): string {
    switch (node.t) {
      case "lit":
        return gbnfLiteral(node.text);
      case "chars":
        return gbnfClass(node.set);
      case "ref":
        this.emitRule(node.rule);
        return node.rule;
      case "seq": {
        if (node.items.length === 0) return context === "top" ? "" : "( )";
        const text = node.items.map((item) => this.render(item, "seq")).join(" ");
        return context === "atom" && node.items.length > 1 ? `(${text})` : text;
      }
      case "alt": {
        // an empty alternative goes first: after a trailing "|" llama.cpp reads on past the newline
        const items = node.items.map((item) => this.render(item, "top")).sort((a, b) => Number(a !== "") - Number(b !== ""));
        const text = items.join(" | ");
        return context === "top" ? text : `(${text})`;
      }
      case "rep":
        return this.renderRepetition(node.item, node.min, node.max);
    }
  }

  /** Repeated items are single symbols (llama.cpp multiplies nested repetitions' rule counts), bounds ≤ MAX_REPETITIONS. */
  private renderRepetition(item: Node, min: number, max: number): string {
    const atom = item.t === "lit" || item.t === "chars" || item.t === "ref" ? this.render(item, "atom") : this.auxiliary(item);
    if (max === Infinity) return min === 0 ? `${atom}*` : min === 1 ? `${atom}+` : `${this.exactly(atom, min)} ${atom}*`;
    if (min === 0 && max === 1) return `${atom}?`;
    if (min === max) return this.exactly(atom, min);
    if (max <= MAX_REPETITIONS) return `${atom}{${min},${max}}`;
    return min === 0 ? this.upTo(atom, max) : `${this.exactly(atom, min)} ${this.upTo(atom, max - min)}`;
  }

  /** atom{n}, as chunks of atom{CHUNK} beyond the limit */
  private exactly(atom: string, n: number): string {
    if (n <= MAX_REPETITIONS) return counted(atom, n, n);
    return `${this.exactly(this.block(atom), Math.floor(n / CHUNK))} ${counted(atom, n % CHUNK, n % CHUNK)}`;
  }

  /** atom{0,n} beyond the limit, n = q·CHUNK + r: fewer than q whole chunks and up to CHUNK-1 more, or q chunks and up to r more */
  private upTo(atom: string, n: number): string {
    if (n <= MAX_REPETITIONS) return counted(atom, 0, n);
    const block = this.block(atom);
    const q = Math.floor(n / CHUNK);
    return `(${this.upTo(block, q - 1)} ${counted(atom, 0, CHUNK - 1)} | ${this.exactly(block, q)} ${counted(atom, 0, n % CHUNK)})`;
  }

  /** A rule for CHUNK repetitions of atom. */
  private block(atom: string): string {
    let name = this.blocks.get(atom);
    if (!name) {
      name = this.fresh("chunk");
      this.blocks.set(atom, name);
      this.out.push(`${name} ::= ${atom}{${CHUNK}}`);
    }
    return name;
  }

  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.rules.has(name) || [...this.blocks.values()].includes(name); i++) name = `${base}-${i}`;
    return name;
  }

  /** A rule of its own for a repeated node that is not a single symbol. */
  private auxiliary(node: Node): string {
    const key = JSON.stringify(node);
    let name = this.extra.get(key);
    if (!name) {
      name = this.fresh("x");
      this.extra.set(key, name);
      this.rules.set(name, node);
    }
    this.emitRule(name);
    return name;
  }
}

function counted(atom: string, min: number, max: number): string {
  return max === 0 ? "" : min === max ? `${atom}{${min}}` : `${atom}{${min},${max}}`;
}

/** A GBNF string literal; llama.cpp reads UTF-8 inside quotes, so only quotes, backslashes and control characters are escaped. */
export function gbnfLiteral(text: string): string {
  return `"${text.replace(/[\\"\x00-\x1f\x7f]/g, (c) => (c === '"' || c === "\\" ? `\\${c}` : escapeCodePoint(c.codePointAt(0)!)))}"`;
}

function gbnfClass(set: CharSet): string {
  const [first] = set;
  if (set.length === 1 && first![0] === first![1]) return gbnfLiteral(String.fromCodePoint(first![0]));
  const ranges = set.map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`));
  return `[${ranges.join("")}]`;
}

/** Inside a class llama.cpp knows no escapes for "-" or "^", so everything but letters and digits is written in hex. */
function classChar(cp: number): string {
  return /[a-zA-Z0-9]/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : escapeCodePoint(cp);
}

function escapeCodePoint(cp: number): string {
  return cp <= 0xff ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
}

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");
