import { SpecialTokensText, type LlamaModel, type LlamaText, type Token } from "node-llama-cpp";
import { InvalidRequestError } from "../errors.ts";

/**
 * Tokenizing takes a while (a megabyte or two a second here), so a 10 MB prompt would be
 * tokenized for many seconds only to be refused as longer than the context. A text's length
 * bounds its tokens from below: no token covers more bytes of text than the longest string in the
 * vocabulary, so a text of B bytes is at least B / longest tokens. That holds for the tokenizers
 * that keep every byte they are given: BPE ("gpt2": byte-level, each character of a vocabulary
 * string one byte) and SentencePiece ("llama": "▁" is one space, "<0x0A>" one byte). It does not
 * for WordPiece ("bert" drops whitespace and control characters, and a word with an unknown
 * character is one [UNK] however long), Unigram ("t5" normalizes whitespace away) or the rest:
 * their texts are tokenized whole, as before.
 *
 * Where special tokens are parsed in the text, a special token marked lstrip/rstrip also takes
 * the whitespace beside it, however much: only the other bytes count then.
 */
const BYTE_KEEPING = new Set(["gpt2", "llama"]);

const longest = new WeakMap<LlamaModel, number | null>();

/** The most bytes of text one of the model's tokens covers, or undefined where no sound bound is known. */
export function longestTokenBytes(model: LlamaModel): number | undefined {
  let bytes = longest.get(model);
  if (bytes === undefined) {
    bytes = null;
    const tokenizer = model.fileInfo.metadata.tokenizer?.ggml;
    const tokens = tokenizer?.tokens;
    if (BYTE_KEEPING.has(tokenizer?.model ?? "") && Array.isArray(tokens) && tokens.length > 0) {
      bytes = 1;
      for (const token of tokens) bytes = Math.max(bytes, typeof token === "string" ? Buffer.byteLength(token) : 0);
    }
    longest.set(model, bytes);
  }
  return bytes ?? undefined;
}

/** The fewest tokens the text can make (0 where no sound bound is known); `specialTokens`: as the text is tokenized. */
export function fewestTokens(model: LlamaModel, text: string, specialTokens = false): number {
  const most = longestTokenBytes(model);
  if (most === undefined || text.length === 0) return 0;
  let bytes = Buffer.byteLength(text);
  if (specialTokens) bytes -= whitespaceBytes(text);
  return Math.ceil(Math.max(0, bytes) / most);
}

/**
 * The fewest tokens a rendered prompt can make: its plain text is tokenized without special
 * tokens (less a byte a run, which node-llama-cpp may trim), its special-token texts with them.
 */
export function fewestTokensOfText(model: LlamaModel, text: LlamaText): number {
  const most = longestTokenBytes(model);
  if (most === undefined) return 0;
  let bytes = 0;
  for (const value of text.values) {
    if (typeof value === "string") bytes += Math.max(0, Buffer.byteLength(value) - 1);
    else if (value instanceof SpecialTokensText) bytes += Math.max(0, Buffer.byteLength(value.value) - whitespaceBytes(value.value) - 1);
  }
  return Math.ceil(bytes / most);
}

/**
 * Texts shorter than this are tokenized and counted as before, however long for the context: it
 * takes a few tens of milliseconds at most, and the refusal then says exactly how long they are.
 */
export const COUNTED_BYTES = 64 * 1024;

/**
 * The fewest tokens of a text that cannot fit in `contextSize` tokens and is long enough for that
 * to be worth knowing before it is tokenized (COUNTED_BYTES); undefined for any other.
 */
export function tooLongToTokenize(model: LlamaModel, text: string | LlamaText, contextSize: number, specialTokens = false): number | undefined {
  if (typeof text === "string") {
    // The cheap bound first (all bytes): whitespace is counted only when it might matter.
    if (text.length < COUNTED_BYTES / 3 || Buffer.byteLength(text) < COUNTED_BYTES || fewestTokens(model, text) < contextSize) return undefined;
    const fewest = fewestTokens(model, text, specialTokens);
    return fewest >= contextSize ? fewest : undefined;
  }
  // UTF-16 units are at most 3 bytes each (a surrogate pair's two, 4).
  const units = text.values.reduce((sum, value) => sum + (typeof value === "string" ? value.length : value instanceof SpecialTokensText ? value.value.length : 0), 0);
  if (units < COUNTED_BYTES / 3) return undefined;
  const fewest = fewestTokensOfText(model, text);
  return fewest >= contextSize ? fewest : undefined;
}

/**
 * Refuses, before it is tokenized, a long text that cannot fit in `contextSize` tokens, in the
 * words of the refusal a tokenized text gets; a text that may fit is left to be tokenized and counted.
 */
export function refuseLongerThanContext(model: LlamaModel, text: string | LlamaText, contextSize: number, param: string, specialTokens = false): void {
  const fewest = tooLongToTokenize(model, text, contextSize, specialTokens);
  if (fewest !== undefined) {
    const what = param === "messages" ? "the prompt" : param;
    throw new InvalidRequestError(`This model's maximum context length is ${contextSize} tokens, but ${what} is at least ${fewest} tokens long.`, param, "context_length_exceeded");
  }
}

/**
 * The stop strings an answer of `maxTokens` tokens could hold: a longer one never matches, and
 * is costly all the same (node-llama-cpp tokenizes it and builds a trie of its characters: 20 s
 * for 10 MB). Undefined when none is left.
 */
export function reachableStops(model: LlamaModel, stops: readonly string[], maxTokens: number): string[] | undefined {
  const most = longestTokenBytes(model);
  const reachable = most === undefined ? [...stops] : stops.filter((stop) => stop.length <= maxTokens * most && Buffer.byteLength(stop) <= maxTokens * most);
  return reachable.length > 0 ? reachable : undefined;
}

/** Tokens past the ones wanted that a cut text must still make, so that the cut (which may split a word) leaves the wanted ones as the whole text has them. */
const MARGIN = 16;
/** Bytes a token of ordinary text averages, to guess the first cut. */
const TYPICAL_TOKEN_BYTES = 4;

/**
 * The text's tokens, or at least its first `wanted` of them when it has more: a start of it long
 * enough to make them (and MARGIN more) is tokenized, doubled until it does, at most the start
 * that must (wanted + MARGIN tokens of the longest). Tokenizers without a sound bound tokenize
 * the whole text.
 */
export function tokenizeStart(model: LlamaModel, text: string, wanted: number, specialTokens = false): Token[] {
  const most = longestTokenBytes(model);
  if (most === undefined) return model.tokenize(text, specialTokens);
  // Characters are at least a byte each: this many characters are at least as many bytes, and as
  // many tokens of the longest. With special tokens whitespace may vanish: no start is sure to be enough.
  const enough = specialTokens ? Infinity : (wanted + MARGIN) * most;
  let length = Math.min((wanted + MARGIN) * TYPICAL_TOKEN_BYTES, enough);
  for (;;) {
    if (length >= text.length) return model.tokenize(text, specialTokens);
    const tokens = model.tokenize(text.slice(0, cutAt(text, length)), specialTokens);
    if (tokens.length >= wanted + MARGIN || length >= enough) return tokens;
    length = Math.min(length * 2, enough);
  }
}

/** `at`, moved off the middle of a surrogate pair. */
function cutAt(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at + 1 : at;
}

/** UTF-8 bytes of the whitespace in the text (any that Unicode calls whitespace, a superset of what llama.cpp strips). */
function whitespaceBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) bytes += 1;
    else if (c === 0x85 || c === 0xa0) bytes += 2;
    else if (c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff) bytes += 3;
  }
  return bytes;
}
