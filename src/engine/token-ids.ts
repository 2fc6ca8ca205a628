import type { LlamaModel, Token } from "node-llama-cpp";
import { InvalidRequestError } from "../errors.ts";

/**
 * Token ids from a client go straight into llama.cpp's tables, where an id outside the
 * vocabulary reads out of bounds; they are checked first.
 */
export function checkTokenIds(model: LlamaModel, ids: readonly number[], param: string): Token[] {
  const size = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? Infinity;
  const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= size);
  if (bad >= 0) {
    throw new InvalidRequestError(`${param}[${bad}]: ${ids[bad]} is not a token id of this model (0..${size - 1})`, `${param}[${bad}]`);
  }
  return ids as Token[];
}
