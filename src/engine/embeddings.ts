import type { LlamaModel, Token } from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import type { ModelPool } from "./model-pool.ts";
import { checkTokenIds } from "./token-ids.ts";
import { CancelledError, InvalidRequestError } from "./types.ts";

export interface EmbeddingRequest {
  model: string;
  /** text (embedded as plain text: special-token strings are not parsed) or token ids */
  inputs: Array<string | number[]>;
  /** keep the first `dimensions` components, renormalized to unit length */
  dimensions?: number;
  signal?: AbortSignal;
}

export interface EmbeddingResult {
  model: ModelInfo;
  /** one unit-length (L2) vector per input, in input order */
  vectors: number[][];
  /** tokens evaluated over all inputs */
  promptTokens: number;
}

/**
 * Embeddings from any model: decoder models work too, llama.cpp returns their pooled final
 * hidden state. node-llama-cpp hands back the raw vector; it is L2-normalized here, as
 * OpenAI's and Ollama's embeddings are, so cosine similarity is a dot product.
 */
export class Embeddings {
  constructor(readonly catalog: ModelCatalog, readonly pool: ModelPool) {}

  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const info = await this.catalog.get(request.model);
    const loaded = await this.pool.model(info);
    const model = loaded.model;
    if (request.dimensions !== undefined && request.dimensions > model.embeddingVectorSize) {
      throw new InvalidRequestError(`dimensions must be at most ${model.embeddingVectorSize}, the embedding length of model "${request.model}"`, "dimensions");
    }
    const paramOf = (i: number) => (request.inputs.length > 1 ? `input[${i}]` : "input");
    const inputs = request.inputs.map((input, i) => tokensOf(model, input, paramOf(i)));
    const context = await loaded.embeddingContext();
    const lengths = inputs.map((tokens, i) => {
      const length = context.calculateInputLength(tokens);
      if (length >= loaded.contextSize) {
        throw new InvalidRequestError(
          `This model's maximum context length is ${loaded.contextSize} tokens, but ${paramOf(i)} is ${length} tokens long.`,
          paramOf(i),
          "context_length_exceeded",
        );
      }
      return length;
    });

    const vectors: number[][] = [];
    for (const tokens of inputs) {
      if (request.signal?.aborted) throw new CancelledError();
      const { vector } = await context.getEmbeddingFor(tokens);
      vectors.push(unitLength(vector.slice(0, request.dimensions)));
    }
    return { model: info, vectors, promptTokens: lengths.reduce((a, b) => a + b, 0) };
  }
}

function tokensOf(model: LlamaModel, input: string | number[], param: string): Token[] {
  if (typeof input !== "string") return checkTokenIds(model, input, param);
  if (input === "") throw new InvalidRequestError(`${param} must not be an empty string`, param);
  return model.tokenize(input);
}

function unitLength(vector: readonly number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm === 0 ? [...vector] : vector.map((x) => x / norm);
}
