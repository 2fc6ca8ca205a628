/** Sets of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges. */
export type CharSet = ReadonlyArray<readonly [number, number]>;

const MAX_CODE_POINT = 0x10ffff;

export function charSet(ranges: Iterable<readonly [number, number]>): CharSet {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = merged.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

export const single = (cp: number): CharSet => [[cp, cp]];
/** The characters of text. */
export const charsOf = (text: string): CharSet => charSet([...text].map((c) => [c.codePointAt(0)!, c.codePointAt(0)!]));
/** The characters from first to last. */
export const range = (first: string, last: string): CharSet => [[first.codePointAt(0)!, last.codePointAt(0)!]];
export const union = (...sets: CharSet[]): CharSet => charSet(sets.flat());

export function complement(set: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function intersect(a: CharSet, b: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]![0], b[j]![0]);
    const hi = Math.min(a[i]![1], b[j]![1]);
    if (lo <= hi) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

export const subtract = (a: CharSet, b: CharSet): CharSet => intersect(a, complement(b));
export const has = (set: CharSet, cp: number): boolean => set.some(([lo, hi]) => lo <= cp && cp <= hi);

const cp = (c: string) => c.codePointAt(0)!;
export const DIGIT: CharSet = [[cp("0"), cp("9")]];
export const WORD: CharSet = charSet([[cp("0"), cp("9")], [cp("A"), cp("Z")], [cp("_"), cp("_")], [cp("a"), cp("z")]]);
/** ECMAScript's \s: WhiteSpace and LineTerminator. */
export const SPACE: CharSet = charSet([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** What `.` does not match without the s flag. */
export const LINE_TERMINATORS: CharSet = charSet([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);
/** Lone surrogates cannot be sampled (tokens decode to valid UTF-8), so they are never part of a generated string. */
export const SURROGATES: CharSet = [[0xd800, 0xdfff]];
