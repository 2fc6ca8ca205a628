import { InvalidRequestError } from "../../errors.ts";
import { AUTO_CHUNKING } from "../../rag/chunking.ts";
import type { Attributes, Chunking } from "../../store/vector-stores.ts";
import type { ChunkingStrategyT } from "./schemas.ts";

const MAX_ATTRIBUTES = 16;
const MAX_KEY = 64;
const MAX_STRING = 512;
const MIN_CHUNK = 100;
const MAX_CHUNK = 4096;

/** OpenAI's limits on file attributes; a 400 names the attribute over them. */
export function checkAttributes(attributes: Attributes | null | undefined, param = "attributes"): Attributes {
  if (attributes == null) return {};
  const keys = Object.keys(attributes);
  if (keys.length > MAX_ATTRIBUTES) throw new InvalidRequestError(`${param} has ${keys.length} keys; at most ${MAX_ATTRIBUTES} are allowed`, param, "invalid_value");
  for (const key of keys) {
    if (key.length > MAX_KEY) throw new InvalidRequestError(`${param} key "${key.slice(0, MAX_KEY)}…" is ${key.length} characters long; at most ${MAX_KEY} are allowed`, param, "invalid_value");
    const value = attributes[key]!;
    if (typeof value === "string" && value.length > MAX_STRING) throw new InvalidRequestError(`${param}["${key}"] is ${value.length} characters long; at most ${MAX_STRING} are allowed`, param, "invalid_value");
    if (typeof value === "number" && !Number.isFinite(value)) throw new InvalidRequestError(`${param}["${key}"] must be a finite number`, param, "invalid_value");
  }
  return attributes;
}

/** A chunking strategy as sizes: auto is 800 tokens overlapping by 400, as OpenAI's; static sizes within OpenAI's bounds. */
export function chunkingOf(strategy: ChunkingStrategyT | undefined, param = "chunking_strategy"): Chunking {
  if (strategy === undefined || strategy.type === "auto") return AUTO_CHUNKING;
  const { max_chunk_size_tokens: size, chunk_overlap_tokens: overlap } = strategy.static;
  if (size < MIN_CHUNK || size > MAX_CHUNK) {
    throw new InvalidRequestError(`${param}.static.max_chunk_size_tokens must be between ${MIN_CHUNK} and ${MAX_CHUNK}; it is ${size}`, `${param}.static.max_chunk_size_tokens`, "invalid_value");
  }
  if (overlap < 0 || overlap > size / 2) {
    throw new InvalidRequestError(`${param}.static.chunk_overlap_tokens must be between 0 and half of max_chunk_size_tokens (${Math.floor(size / 2)}); it is ${overlap}`, `${param}.static.chunk_overlap_tokens`, "invalid_value");
  }
  return { maxChunkSizeTokens: size, chunkOverlapTokens: overlap };
}
