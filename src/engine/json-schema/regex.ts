import { charSet, complement, DIGIT, LINE_TERMINATORS, single, SPACE, union, WORD, type CharSet } from "./charset.ts";

/** A regular expression as a language: what it matches, with captures, laziness and anchors gone. */
export type Regex =
  | { k: "set"; set: CharSet }
  | { k: "seq"; items: Regex[] }
  | { k: "alt"; items: Regex[] }
  | { k: "rep"; item: Regex; min: number; max: number };

/** The pattern uses a regex feature with no grammar equivalent (lookaround, backreferences, word boundaries). */
export class UnsupportedRegexError extends Error {}

const SYNTAX = new Set("^$\\.*+?()[]{}|/");

/**
 * Parses the ECMAScript regex subset JSON Schema's `pattern` is written in (with the u flag, as ajv
 * compiles it; the caller has already checked the pattern compiles). A match of the whole pattern is
 * what is generated: patterns are searches, so a string that *is* a match always satisfies it, and
 * anchors are only allowed where every match trivially satisfies them — ^ opening and $ closing a
 * top-level alternative.
 */
export function parseRegex(pattern: string): Regex {
  return new Parser(pattern).parse();
}

class Parser {
  private readonly cps: number[];
  private i = 0;

  constructor(pattern: string) {
    this.cps = [...pattern].map((c) => c.codePointAt(0)!);
  }

  parse(): Regex {
    const alternatives: Regex[] = [];
    do {
      if (this.peek() === "^") this.i++;
      alternatives.push(this.sequence(true));
    } while (this.eat("|"));
    if (this.i < this.cps.length) throw new UnsupportedRegexError("an unbalanced parenthesis");
    return alternatives.length === 1 ? alternatives[0]! : { k: "alt", items: alternatives };
  }

  private peek(offset = 0): string | undefined {
    const cp = this.cps[this.i + offset];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private eat(c: string): boolean {
    if (this.peek() !== c) return false;
    this.i++;
    return true;
  }

  private next(): string {
    const c = this.peek();
    if (c === undefined) throw new UnsupportedRegexError("the pattern ends unexpectedly");
    this.i++;
    return c;
  }

  private sequence(topLevel: boolean): Regex {
    const items: Regex[] = [];
    for (let c = this.peek(); c !== undefined && c !== "|" && c !== ")"; c = this.peek()) {
      if (c === "$" && topLevel && (this.peek(1) === undefined || this.peek(1) === "|")) {
        this.i++;
        continue;
      }
      if (c === "^" || c === "$") throw new UnsupportedRegexError(`the anchor ${c} inside the pattern (only ^ opening and $ closing it are supported)`);
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0]! : { k: "seq", items };
  }

  private alternation(): Regex {
    const alternatives: Regex[] = [];
    do alternatives.push(this.sequence(false));
    while (this.eat("|"));
    return alternatives.length === 1 ? alternatives[0]! : { k: "alt", items: alternatives };
  }

  private atom(): Regex {
    const c = this.next();
    switch (c) {
      case ".":
        return { k: "set", set: complement(LINE_TERMINATORS) };
      case "[":
        return { k: "set", set: this.characterClass() };
      case "(": {
        if (this.eat("?")) {
          if (this.eat(":")) {
            // a non-capturing group
          } else if (this.peek() === "<" && this.peek(1) !== "=" && this.peek(1) !== "!") {
            while (this.next() !== ">");
          } else {
            throw new UnsupportedRegexError(this.peek() === "=" || this.peek() === "!" || this.peek() === "<" ? "lookaround assertions" : "inline modifiers");
          }
        }
        const inner = this.alternation();
        if (!this.eat(")")) throw new UnsupportedRegexError("an unbalanced parenthesis");
        return inner;
      }
      case "\\":
        return { k: "set", set: this.escape(false) };
      default:
        return { k: "set", set: single(c.codePointAt(0)!) };
    }
  }

  private quantified(item: Regex): Regex {
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(String.fromCodePoint(...this.cps.slice(this.i, this.i + 32)));
      if (!match) return item;
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === "" ? Infinity : Number(match[3]);
      this.i += match[0].length - 1;
    } else return item;
    this.i++;
    this.eat("?"); // lazy or greedy, the whole pattern matches the same strings
    return this.quantified({ k: "rep", item, min, max });
  }

  private characterClass(): CharSet {
    const negated = this.eat("^");
    const parts: CharSet[] = [];
    while (!this.eat("]")) {
      const from = this.classAtom();
      if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== undefined) {
        this.i++;
        const to = this.classAtom();
        // a range's ends are single characters (the RegExp check refuses [\d-z] and the like)
        parts.push(charSet([[from[0]![0], to[0]![0]]]));
      } else parts.push(from);
    }
    const set = union(...parts);
    return negated ? complement(set) : set;
  }

  private classAtom(): CharSet {
    const c = this.next();
    if (c !== "\\") return single(c.codePointAt(0)!);
    return this.escape(true);
  }

  private escape(inClass: boolean): CharSet {
    const c = this.next();
    switch (c) {
      case "d":
        return DIGIT;
      case "D":
        return complement(DIGIT);
      case "w":
        return WORD;
      case "W":
        return complement(WORD);
      case "s":
        return SPACE;
      case "S":
        return complement(SPACE);
      case "t":
        return single(0x09);
      case "n":
        return single(0x0a);
      case "v":
        return single(0x0b);
      case "f":
        return single(0x0c);
      case "r":
        return single(0x0d);
      case "0":
        return single(0);
      case "c":
        return single(this.next().codePointAt(0)! % 32);
      case "x":
        return single(this.hex(2));
      case "u":
        return single(this.unicodeEscape());
      case "b":
        if (inClass) return single(0x08);
        throw new UnsupportedRegexError("word boundary assertions (\\b, \\B)");
      case "B":
        throw new UnsupportedRegexError("word boundary assertions (\\b, \\B)");
      case "k":
        throw new UnsupportedRegexError("backreferences");
      case "p":
      case "P":
        throw new UnsupportedRegexError("Unicode property escapes (\\p{…})");
      default:
        if (/[1-9]/.test(c)) throw new UnsupportedRegexError("backreferences");
        if (SYNTAX.has(c) || (inClass && c === "-")) return single(c.codePointAt(0)!);
        throw new UnsupportedRegexError(`the escape \\${c}`);
    }
  }

  private hex(digits: number): number {
    let value = 0;
    for (let n = 0; n < digits; n++) value = value * 16 + parseInt(this.next(), 16);
    return value;
  }

  private unicodeEscape(): number {
    if (this.eat("{")) {
      let value = 0;
      for (let c = this.next(); c !== "}"; c = this.next()) value = value * 16 + parseInt(c, 16);
      return value;
    }
    const unit = this.hex(4);
    // \uD83D\uDE00 is one code point with the u flag
    if (unit >= 0xd800 && unit <= 0xdbff && this.peek() === "\\" && this.peek(1) === "u") {
      const save = this.i;
      this.i += 2;
      const low = this.hex(4);
      if (low >= 0xdc00 && low <= 0xdfff) return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
      this.i = save;
    }
    return unit;
  }
}
