import { fromRegex, intersection, lengthRange, toGrammar, TooLargeError, withLength, type Nfa } from "./automaton.ts";
import { charsOf, complement, has, range, subtract, SURROGATES, union, type CharSet } from "./charset.ts";
import { invalid, unenforceable } from "./errors.ts";
import { formatPattern } from "./formats.ts";
import { alt, chars, EMPTY, lit, rep, seq, type Grammar, type Node } from "./gbnf.ts";
import { parseRegex, UnsupportedRegexError } from "./regex.ts";

const QUOTE = lit('"');
/** What JSON strings must escape: the quote, the backslash and control characters. */
const ESCAPED: CharSet = union(range("\x00", "\x1f"), charsOf('"\\'));
const SHORT_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0c: "\\f", 0x0d: "\\r" };
/** Characters allowed raw in a JSON string (and sampleable: no lone surrogates). */
export const PLAIN: CharSet = complement(union(ESCAPED, SURROGATES));
const HEX = union(range("0", "9"), range("A", "F"), range("a", "f"));

/** One code point from set as it is written inside a JSON string: raw, or escaped where JSON requires it. */
export function jsonChars(set: CharSet): Node {
  const plain = subtract(set, union(ESCAPED, SURROGATES));
  const escapes = [...Array(0x20).keys(), 0x22, 0x5c].filter((cp) => has(set, cp)).map((cp) => lit(SHORT_ESCAPES[cp] ?? `\\u${cp.toString(16).padStart(4, "0")}`));
  return alt(...(plain.length ? [chars(plain)] : []), ...escapes);
}

/**
 * Any one character of a JSON string: raw, or any escape. A \u escape never names a surrogate, so
 * each counts as one code point, as minLength and maxLength count.
 */
function anyChar(grammar: Grammar): Node {
  // \uD800-\uDFFF excluded
  const unicode = alt(seq(chars(subtract(HEX, charsOf("Dd"))), rep(chars(HEX), 3, 3)), seq(chars(charsOf("Dd")), chars(range("0", "7")), rep(chars(HEX), 2, 2)));
  const escape = seq(lit("\\"), alt(chars(charsOf('"\\/bfnrt')), seq(lit("u"), unicode)));
  return grammar.rule("char", alt(chars(PLAIN), escape));
}

export interface StringConstraints {
  minLength: number;
  maxLength: number;
  pattern?: string;
  format?: string;
}

/**
 * A JSON string satisfying the constraints, or null when none can. Pattern, format and lengths
 * together are one automaton (their intersection); plain lengths are a counted repetition.
 */
export function stringNode(grammar: Grammar, c: StringConstraints, path: string, hint: string): Node | null {
  const pattern = c.pattern === undefined ? undefined : patternAutomaton(c.pattern, `${path}.pattern`);
  const formatSource = c.format === undefined ? undefined : formatPattern(c.format);
  const format = formatSource === undefined ? undefined : fromRegex(parseRegex(formatSource));
  let nfa: Nfa | undefined = pattern && format ? intersection(pattern, format) : (pattern ?? format);
  if (!nfa) return c.minLength > c.maxLength ? null : seq(QUOTE, rep(anyChar(grammar), c.minLength, c.maxLength), QUOTE);
  const [shortest, longest] = lengthRange(nfa);
  if (shortest < c.minLength || longest > c.maxLength) {
    try {
      nfa = withLength(nfa, c.minLength, c.maxLength);
    } catch (err) {
      if (err instanceof TooLargeError) throw unenforceable(`${path}.maxLength`, `the pattern or format within these length bounds cannot be enforced: ${err.message}`);
      throw err;
    }
  }
  if (lengthRange(nfa)[0] === Infinity) return null;
  // a character set with escapes is a rule of its own, shared by every state that reads it
  const encode = (set: CharSet) => {
    const node = jsonChars(set);
    return node.t === "alt" ? grammar.rule("char", node) : node;
  };
  return seq(QUOTE, toGrammar(grammar, nfa, hint, encode), QUOTE);
}

function patternAutomaton(pattern: string, path: string): Nfa {
  try {
    new RegExp(pattern, "u");
  } catch (err) {
    throw invalid(path, `${JSON.stringify(pattern)} is not a valid regular expression: ${(err as Error).message}`);
  }
  try {
    return fromRegex(parseRegex(pattern));
  } catch (err) {
    if (err instanceof UnsupportedRegexError) {
      throw unenforceable(path, `${JSON.stringify(pattern)} uses ${err.message}, which has no grammar equivalent (supported: literals, classes, escapes such as \\d \\w \\s, quantifiers ? * + {m,n}, groups, alternation, ^ and $ at its ends)`);
    }
    if (err instanceof TooLargeError) throw unenforceable(path, `${JSON.stringify(pattern)} is too large to enforce: ${err.message}`);
    throw err;
  }
}

/** A JSON object key that is none of these names: plain characters (no escapes, which could spell one of them). */
export function keyNotAmong(names: string[]): Node {
  const below = (prefix: string): Node => {
    // the characters that continue a name (keys are written without escapes, so only plain ones can)
    const next = [...new Set(names.filter((n) => n.startsWith(prefix) && n.length > prefix.length).map((n) => String.fromCodePoint(n.codePointAt(prefix.length)!)))].filter((c) =>
      has(PLAIN, c.codePointAt(0)!),
    );
    const options: Node[] = names.includes(prefix) ? [] : [EMPTY];
    for (const c of next) options.push(seq(lit(c), below(prefix + c)));
    const others = charsOf(next.join(""));
    options.push(seq(chars(subtract(PLAIN, others)), rep(chars(PLAIN), 0, Infinity)));
    return alt(...options);
  };
  return seq(lit('"'), below(""), lit('"'));
}
