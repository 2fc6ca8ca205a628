import type { LlamaModel, Token } from "node-llama-cpp";
import { CancelledError } from "../errors.ts";
import type { Chunking } from "../store/vector-stores.ts";

/** OpenAI's `auto` strategy. */
export const AUTO_CHUNKING: Chunking = { maxChunkSizeTokens: 800, chunkOverlapTokens: 400 };

/**
 * Characters tokenized at a time: tokenizing runs on the event loop (a megabyte or two a second),
 * so a long document is tokenized a piece at a time, the server answering requests in between.
 */
const SEGMENT_CHARS = 16_384;

/**
 * A text cut into chunks of at most `maxChunkSizeTokens` of the model's tokens, each starting
 * `chunkOverlapTokens` before the previous one ended. Cuts fall where a word starts (a token
 * beginning with whitespace) when one is in the chunk's second half, so that a chunk neither
 * ends nor starts inside a word and its text tokenizes back to no more tokens than it was cut at.
 */
export async function chunkText(model: LlamaModel, text: string, chunking: Chunking, signal?: AbortSignal): Promise<string[]> {
  const tokens = await tokenizeInSegments(model, text, signal);
  const startsWord = wordStarts(model);
  const { maxChunkSizeTokens: size, chunkOverlapTokens: overlap } = chunking;
  const chunks: string[] = [];
  let start = 0;
  while (start < tokens.length) {
    let end = Math.min(start + size, tokens.length);
    if (end < tokens.length) {
      const floor = start + Math.ceil(size / 2);
      let cut = end;
      while (cut > floor && !startsWord(tokens[cut]!)) cut--;
      if (startsWord(tokens[cut]!)) end = cut;
    }
    const chunk = model.detokenize(tokens.slice(start, end)).trim();
    if (chunk !== "") chunks.push(chunk);
    if (end >= tokens.length) break;
    let next = Math.max(end - overlap, start + 1);
    while (next < end && !startsWord(tokens[next]!)) next++;
    start = next;
  }
  return chunks;
}

async function tokenizeInSegments(model: LlamaModel, text: string, signal?: AbortSignal): Promise<Token[]> {
  const tokens: Token[] = [];
  for (let at = 0; at < text.length; ) {
    if (signal?.aborted) throw new CancelledError();
    let end = Math.min(at + SEGMENT_CHARS, text.length);
    // Cut before whitespace, where a word's leading-space token begins, so no word is split in two.
    if (end < text.length) {
      const space = text.slice(at, end).search(/\s\S*$/);
      if (space > 0) end = at + space;
    }
    for (const token of model.tokenize(text.slice(at, end))) tokens.push(token);
    at = end;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return tokens;
}

/** Whether a token's text starts with whitespace, remembered per token: a document repeats its words. */
function wordStarts(model: LlamaModel): (token: Token) => boolean {
  const known = new Map<Token, boolean>();
  return (token) => {
    let starts = known.get(token);
    if (starts === undefined) {
      starts = /^\s/.test(model.detokenize([token]));
      known.set(token, starts);
    }
    return starts;
  };
}
