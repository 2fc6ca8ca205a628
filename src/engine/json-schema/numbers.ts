import { charsOf, range } from "./charset.ts";
import { alt, chars, EMPTY, lit, opt, rep, seq, type Grammar, type Node } from "./gbnf.ts";

export interface Limit {
  value: number;
  inclusive: boolean;
}

export interface NumberConstraints {
  integer: boolean;
  min?: Limit;
  max?: Limit;
  /** a positive integer, for integers only */
  multipleOf?: number;
}

/**
 * Bounded numbers are written as plain decimals: at most 9 integer and 6 fraction digits, 15
 * significant digits in all, so distinct decimals parse to distinct doubles and a value strictly
 * inside a bound stays inside it once parsed. Integers (and numbers whose bounds leave no room for
 * those decimals) go up to Number.MAX_SAFE_INTEGER, exact as doubles, so multipleOf checks hold.
 */
const FRACTION_DIGITS = 6;
const MAX_DECIMAL = 999_999_999.999999;
/** Beyond this many digit-automaton states a multipleOf is refused: its grammar would be huge. */
const MAX_MULTIPLE_STATES = 5000;
/** Bounded ranges with at most this many multiples list them instead. */
const MAX_LISTED_MULTIPLES = 256;

export class NumberRangeError extends Error {}

/** The grammar for the numbers satisfying c, or null when none does. */
export function numberNode(grammar: Grammar, c: NumberConstraints, hint: string): Node | null {
  if (c.integer) return integers(grammar, c, hint);
  if (!c.min && !c.max) return freeNumber();
  const min = c.min && c.min.value < -MAX_DECIMAL ? undefined : c.min;
  const max = c.max && c.max.value > MAX_DECIMAL ? undefined : c.max;
  if (min && min.value > MAX_DECIMAL) return integers(grammar, c, hint);
  if (max && max.value < -MAX_DECIMAL) return integers(grammar, c, hint);
  return signed(grammar, min ?? { value: -MAX_DECIMAL, inclusive: true }, max ?? { value: MAX_DECIMAL, inclusive: true }, FRACTION_DIGITS, 1, hint);
}

function integers(grammar: Grammar, c: NumberConstraints, hint: string): Node | null {
  const m = c.multipleOf ?? 1;
  if (!c.min && !c.max && m === 1) return alt(lit("0"), seq(opt(lit("-")), chars(range("1", "9")), rep(chars(DIGITS), 0, 14)));
  const lo = Math.max(c.min ? ceiling(c.min) : -Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER);
  const hi = Math.min(c.max ? floor(c.max) : Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (lo > hi) return null;
  const first = Math.ceil(lo / m) * m;
  if (m > 1 && first <= hi && (hi - first) / m < MAX_LISTED_MULTIPLES) {
    const values = Array.from({ length: Math.floor((hi - first) / m) + 1 }, (_, i) => first + i * m);
    return alt(...values.map((v) => lit(String(v))));
  }
  if (m > 1 && String(Math.max(-lo, hi)).length * m > MAX_MULTIPLE_STATES) throw new NumberRangeError(`multipleOf ${m} over this range needs too large a grammar; bound the range more tightly`);
  return signed(grammar, { value: lo, inclusive: true }, { value: hi, inclusive: true }, 0, m, hint);
}

function ceiling(limit: Limit): number {
  const v = Math.ceil(limit.value);
  return !limit.inclusive && v === limit.value ? v + 1 : v;
}

function floor(limit: Limit): number {
  const v = Math.floor(limit.value);
  return !limit.inclusive && v === limit.value ? v - 1 : v;
}

const DIGITS = range("0", "9");

/** Any JSON number, bounded in length: 16 digits either side of the point, a two-digit exponent (no Infinity). */
function freeNumber(): Node {
  const integral = alt(lit("0"), seq(chars(range("1", "9")), rep(chars(DIGITS), 0, 15)));
  const exponent = seq(chars(charsOf("eE")), opt(chars(charsOf("+-"))), rep(chars(DIGITS), 1, 2));
  return seq(opt(lit("-")), integral, opt(seq(lit("."), rep(chars(DIGITS), 1, 16))), opt(exponent));
}

/** Numbers in [lo, hi] as a sign and a magnitude; "-0" is never written. */
function signed(grammar: Grammar, lo: Limit, hi: Limit, fractionDigits: number, m: number, hint: string): Node | null {
  const parts: Node[] = [];
  if (lo.value < 0) {
    const magnitudeLo = hi.value < 0 ? { value: -hi.value, inclusive: hi.inclusive } : { value: 0, inclusive: false };
    const negative = new Magnitudes(grammar, magnitudeLo, { value: -lo.value, inclusive: lo.inclusive }, fractionDigits, m, `${hint}-neg`).node();
    if (negative) parts.push(seq(lit("-"), negative));
  }
  if (hi.value >= 0) {
    const positive = new Magnitudes(grammar, lo.value >= 0 ? lo : { value: 0, inclusive: true }, hi, fractionDigits, m, hint).node();
    if (positive) parts.push(positive);
  }
  return parts.length ? alt(...parts) : null;
}

interface Bound {
  int: string;
  frac: string;
  inclusive: boolean;
}

/**
 * Non-negative decimals in [lo, hi] with up to `fractionDigits` fraction digits, multiples of m when
 * m > 1: an automaton over the digits whose states remember whether the digits so far equal lo's or
 * hi's (so the next digit is bounded) and, for multipleOf, the remainder modulo m.
 */
class Magnitudes {
  private readonly lo: Bound;
  private readonly hi: Bound;
  private readonly memo = new Map<string, Node | null>();

  constructor(
    private readonly grammar: Grammar,
    lo: Limit,
    hi: Limit,
    private readonly fractionDigits: number,
    private readonly m: number,
    private readonly hint: string,
  ) {
    this.lo = { ...plainDecimal(lo.value), inclusive: lo.inclusive };
    this.hi = { ...plainDecimal(hi.value), inclusive: hi.inclusive };
  }

  node(): Node | null {
    const lengths: Node[] = [];
    for (let length = this.lo.int.length; length <= this.hi.int.length; length++) {
      const node = this.integral(length, 0, length === this.lo.int.length, length === this.hi.int.length, 0);
      if (node) lengths.push(node);
    }
    return lengths.length ? alt(...lengths) : null;
  }

  private memoized(key: string, build: () => Node | null): Node | null {
    if (!this.memo.has(key)) {
      const body = build();
      this.memo.set(key, body && body !== EMPTY ? this.grammar.rule(`${this.hint}-d`, body) : body);
    }
    return this.memo.get(key)!;
  }

  /** the integer part's digit i of `length`, tight to lo / hi while the digits so far equal theirs */
  private integral(length: number, i: number, tightLo: boolean, tightHi: boolean, remainder: number): Node | null {
    if (i === length) return this.afterIntegral(tightLo, tightHi, remainder);
    const key = tightLo || tightHi ? `i${length}.${i}.${tightLo}.${tightHi}.${remainder}` : `f${length - i}.${i === 0}.${remainder}`;
    return this.memoized(key, () =>
      this.digits(tightLo ? +this.lo.int[i]! : i === 0 && length > 1 ? 1 : 0, tightHi ? +this.hi.int[i]! : 9, (d) =>
        this.integral(length, i + 1, tightLo && d === +this.lo.int[i]!, tightHi && d === +this.hi.int[i]!, (remainder * 10 + d) % this.m),
      ),
    );
  }

  private afterIntegral(tightLo: boolean, tightHi: boolean, remainder: number): Node | null {
    const options: Node[] = [];
    if (remainder === 0 && this.mayStop(tightLo, tightHi, 0)) options.push(EMPTY);
    const fraction = this.fractionDigits > 0 ? this.fraction(0, tightLo, tightHi) : null;
    if (fraction) options.push(seq(lit("."), fraction));
    return options.length ? alt(...options) : null;
  }

  /** fraction digit j (at least one follows the point) */
  private fraction(j: number, tightLo: boolean, tightHi: boolean): Node | null {
    return this.memoized(`p${j}.${tightLo}.${tightHi}`, () =>
      this.digits(tightLo ? digitAt(this.lo.frac, j) : 0, tightHi ? digitAt(this.hi.frac, j) : 9, (d) => {
        const lo = tightLo && d === digitAt(this.lo.frac, j);
        const hi = tightHi && d === digitAt(this.hi.frac, j);
        const options: Node[] = [];
        if (this.mayStop(lo, hi, j + 1)) options.push(EMPTY);
        const more = j + 1 < this.fractionDigits ? this.fraction(j + 1, lo, hi) : null;
        if (more) options.push(more);
        return options.length ? alt(...options) : null;
      }),
    );
  }

  /** Whether the digits so far, followed by zeros, are within the bounds (given j fraction digits written). */
  private mayStop(tightLo: boolean, tightHi: boolean, j: number): boolean {
    const aboveLo = !tightLo || (this.lo.frac.length <= j && this.lo.inclusive);
    const belowHi = !tightHi || this.hi.frac.length > j || this.hi.inclusive;
    return aboveLo && belowHi;
  }

  /** Digits from..to, grouped by what may follow each. */
  private digits(from: number, to: number, then: (d: number) => Node | null): Node | null {
    const groups = new Map<string, { digits: number[]; next: Node }>();
    for (let d = from; d <= to; d++) {
      const next = then(d);
      if (!next) continue;
      const key = JSON.stringify(next);
      const group = groups.get(key) ?? { digits: [], next };
      group.digits.push(d);
      groups.set(key, group);
    }
    if (groups.size === 0) return null;
    return alt(...[...groups.values()].map(({ digits, next }) => seq(chars(charsOf(digits.join(""))), next)));
  }
}

const digitAt = (digits: string, j: number) => +(digits[j] ?? "0");

/** The exact decimal digits of a non-negative double's shortest representation (which parses back to it). */
function plainDecimal(x: number): { int: string; frac: string } {
  const [mantissa, exponent] = x.toString().split("e");
  const [whole, part = ""] = mantissa!.split(".");
  const digits = whole! + part;
  const point = whole!.length + Number(exponent ?? 0);
  const int = point <= 0 ? "0" : digits.slice(0, point).padEnd(point, "0");
  const frac = point <= 0 ? "0".repeat(-point) + digits : digits.slice(point);
  return { int: int.replace(/^0+(?=\d)/, ""), frac: frac.replace(/0+$/, "") };
}
