import { intersect, union, type CharSet } from "./charset.ts";
import { alt, EMPTY, ref, seq, type Grammar, type Node } from "./gbnf.ts";
import type { Regex } from "./regex.ts";

interface Edge {
  set: CharSet;
  to: number;
}

/**
 * A string language as an epsilon-free NFA over code points. Patterns, formats and length bounds
 * each become one, and a string constrained by several is their intersection: one grammar
 * enforces them all at once, each state a rule.
 */
export interface Nfa {
  start: number;
  edges: Edge[][];
  accepting: boolean[];
}

/** Above this many states a pattern (with its length bounds) is refused rather than turned into a huge grammar. */
const MAX_STATES = 20_000;

export class TooLargeError extends Error {
  constructor() {
    super(`it needs more than ${MAX_STATES} grammar states`);
  }
}

export function fromRegex(regex: Regex): Nfa {
  const edges: Edge[][] = [];
  const epsilons: number[][] = [];
  const state = (): number => {
    if (edges.length >= MAX_STATES) throw new TooLargeError();
    edges.push([]);
    epsilons.push([]);
    return edges.length - 1;
  };
  // Thompson's construction: each call adds the fragment for `re` starting at `from` and returns its end.
  const build = (re: Regex, from: number): number => {
    switch (re.k) {
      case "set": {
        const to = state();
        edges[from]!.push({ set: re.set, to });
        return to;
      }
      case "seq":
        return re.items.reduce((at, item) => build(item, at), from);
      case "alt": {
        const end = state();
        for (const item of re.items) {
          const start = state();
          epsilons[from]!.push(start);
          epsilons[build(item, start)]!.push(end);
        }
        return end;
      }
      case "rep": {
        let at = from;
        for (let n = 0; n < re.min; n++) at = build(re.item, at);
        if (re.max === Infinity) {
          const loop = state();
          epsilons[at]!.push(loop);
          epsilons[build(re.item, loop)]!.push(loop);
          return loop;
        }
        const end = state();
        epsilons[at]!.push(end);
        for (let n = re.min; n < re.max; n++) {
          at = build(re.item, at);
          epsilons[at]!.push(end);
        }
        return end;
      }
    }
  };
  const start = state();
  const final = build(regex, start);
  // Epsilon closure: a state has the edges of every state it reaches for free, and accepts if it reaches the end.
  const closures = epsilons.map((_, q) => {
    const seen = new Set([q]);
    const stack = [q];
    while (stack.length) for (const next of epsilons[stack.pop()!]!) if (!seen.has(next)) stack.push(next), seen.add(next);
    return seen;
  });
  return trim({
    start,
    edges: closures.map((closure) => [...closure].flatMap((p) => edges[p]!)),
    accepting: closures.map((closure) => closure.has(final)),
  });
}

/** Strings in both languages. */
export function intersection(a: Nfa, b: Nfa): Nfa {
  return product(a, b.edges.length, b.start, (state, q) =>
    a.edges[state]!.flatMap((edge) => b.edges[q]!.map((other) => ({ set: intersect(edge.set, other.set), state: edge.to, extra: other.to }))),
    (state, q) => a.accepting[state]! && b.accepting[q]!,
  );
}

/** Strings of the language with min..max code points. */
export function withLength(nfa: Nfa, min: number, max: number): Nfa {
  // the count saturates at min when there is no maximum: beyond it, length no longer matters
  const top = max === Infinity ? min : max;
  return product(nfa, top + 1, 0, (state, count) =>
    max !== Infinity && count === max ? [] : nfa.edges[state]!.map((edge) => ({ set: edge.set, state: edge.to, extra: Math.min(count + 1, top) })),
    (state, count) => nfa.accepting[state]! && count >= min,
  );
}

/** The shortest and longest strings' lengths (Infinity when a loop is reachable). */
export function lengthRange(nfa: Nfa): [number, number] {
  const depth = new Map([[nfa.start, 0]]);
  const queue = [nfa.start];
  let min = Infinity;
  for (let i = 0; i < queue.length; i++) {
    const q = queue[i]!;
    if (nfa.accepting[q]) min = Math.min(min, depth.get(q)!);
    for (const { to } of nfa.edges[q]!) if (!depth.has(to)) depth.set(to, depth.get(q)! + 1), queue.push(to);
  }
  const longest = new Map<number, number>();
  const onPath = new Set<number>();
  const visit = (q: number): number => {
    if (onPath.has(q)) return Infinity;
    const known = longest.get(q);
    if (known !== undefined) return known;
    onPath.add(q);
    let best = nfa.accepting[q] ? 0 : -Infinity;
    for (const { to } of nfa.edges[q]!) best = Math.max(best, 1 + visit(to));
    onPath.delete(q);
    longest.set(q, best);
    return best;
  };
  return [min, visit(nfa.start)];
}

/** One rule per state: the edges' characters (JSON-encoded by `encode`) followed by the state they lead to. */
export function toGrammar(grammar: Grammar, nfa: Nfa, hint: string, encode: (set: CharSet) => Node): Node {
  const names = nfa.edges.map(() => "");
  // An accepting state with no way on ends the string: written inline instead of as a rule.
  const isEnd = (q: number) => nfa.accepting[q]! && nfa.edges[q]!.length === 0;
  const name = (q: number): string => {
    if (!names[q]) {
      names[q] = grammar.reserve(`${hint}-s${q}`);
      grammar.define(names[q], alt(...(nfa.accepting[q] ? [EMPTY] : []), ...nfa.edges[q]!.map(({ set, to }) => seq(encode(set), isEnd(to) ? EMPTY : ref(name(to))))));
    }
    return names[q];
  };
  return isEnd(nfa.start) ? EMPTY : ref(name(nfa.start));
}

/** The pairs (state, extra) reachable from (nfa.start, extraStart), extra < base, as an automaton of their own. */
function product(
  nfa: Nfa,
  base: number,
  extraStart: number,
  step: (state: number, extra: number) => Array<{ set: CharSet; state: number; extra: number }>,
  accepts: (state: number, extra: number) => boolean,
): Nfa {
  const indexes = new Map<number, number>();
  const pairs: Array<[number, number]> = [];
  const index = (state: number, extra: number): number => {
    const key = state * base + extra;
    let at = indexes.get(key);
    if (at === undefined) {
      if (pairs.length >= MAX_STATES) throw new TooLargeError();
      at = pairs.push([state, extra]) - 1;
      indexes.set(key, at);
    }
    return at;
  };
  const start = index(nfa.start, extraStart);
  const edges: Edge[][] = [];
  for (let at = 0; at < pairs.length; at++) {
    const [state, extra] = pairs[at]!;
    edges[at] = step(state, extra).flatMap(({ set, state: to, extra: toExtra }) => (set.length ? [{ set, to: index(to, toExtra) }] : []));
  }
  return trim({ start, edges, accepting: pairs.map(([state, extra]) => accepts(state, extra)) });
}

/** Keeps the states on a path from the start to an accepting state, renumbered, with one edge per target. */
function trim(nfa: Nfa): Nfa {
  const reachable = new Set([nfa.start]);
  const stack = [nfa.start];
  while (stack.length) for (const { to } of nfa.edges[stack.pop()!]!) if (!reachable.has(to)) reachable.add(to), stack.push(to);
  const live = new Set([...reachable].filter((q) => nfa.accepting[q]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const q of reachable) {
      if (!live.has(q) && nfa.edges[q]!.some(({ to }) => live.has(to))) live.add(q), (changed = true);
    }
  }
  if (!live.has(nfa.start)) return { start: 0, edges: [[]], accepting: [false] };
  const order = [...live].sort((a, b) => a - b);
  const renumber = new Map(order.map((q, i) => [q, i]));
  return {
    start: renumber.get(nfa.start)!,
    edges: order.map((q) => {
      const byTarget = new Map<number, CharSet>();
      for (const { set, to } of nfa.edges[q]!) {
        const target = renumber.get(to);
        if (target !== undefined && set.length) byTarget.set(target, union(byTarget.get(target) ?? [], set));
      }
      return [...byTarget].map(([to, set]) => ({ to, set }));
    }),
    accepting: order.map((q) => nfa.accepting[q]!),
  };
}
