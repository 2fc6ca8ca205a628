import type { LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import type { LoadedModel } from "./loaded-model.ts";
import type { ModelPool } from "./model-pool.ts";
import { tokenizeStart, tooLongToTokenize } from "./prompt-bound.ts";
import { checkTokenIds } from "./token-ids.ts";
import { CancelledError, InvalidRequestError } from "../errors.ts";
import type { EngineObserver, LoadOptions } from "./types.ts";

export interface EmbeddingRequest {
  model: string;
  /** text (embedded as plain text: special-token strings are not parsed) or token ids */
  inputs: Array<string | number[]>;
  /** the request field holding the inputs, as errors name it ("input", "input[2]"); default "input" */
  field?: string;
  /** keep the first `dimensions` components, renormalized to unit length */
  dimensions?: number;
  /** cut inputs that do not fit at the end instead of refusing them */
  truncate?: boolean;
  /** tokens an input may use, below the loaded context size (Ollama's num_ctx) */
  contextLimit?: number;
  /** false: the model's raw vectors, neither normalized nor shortened; default true */
  normalize?: boolean;
  /** how long the model stays loaded once idle: undefined = the pool's default, Infinity = forever, 0 = unload after this request */
  keepAliveMs?: number;
  /** how the model is loaded: undefined fields = the server's defaults */
  load?: LoadOptions;
  signal?: AbortSignal;
}

export interface EmbeddingResult {
  model: ModelInfo;
  /** one unit-length (L2) vector per input, in input order */
  vectors: number[][];
  /** tokens evaluated over all inputs */
  promptTokens: number;
  /** nanoseconds until the model and its embeddings context were ready (loading them, or waiting for a load in progress) */
  loadNs: number;
  /** nanoseconds for the whole request */
  totalNs: number;
}

/**
 * Embeddings from any model: decoder models work too, llama.cpp returns their pooled final
 * hidden state. node-llama-cpp hands back the raw vector; it is L2-normalized here, as
 * OpenAI's and Ollama's embeddings are, so cosine similarity is a dot product.
 */
export class Embeddings {
  constructor(
    readonly catalog: ModelCatalog,
    readonly pool: ModelPool,
    private readonly observer?: EngineObserver,
  ) {}

  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const startedAt = process.hrtime.bigint();
    const info = await this.catalog.get(request.model);
    const hold = await this.pool.hold(info, { keepAliveMs: request.keepAliveMs, load: request.load, signal: request.signal });
    try {
      const context = await hold.loaded.embeddingContext();
      const loadNs = Number(process.hrtime.bigint() - startedAt);
      const { vectors, promptTokens } = await embedWith(hold.loaded, context, request);
      this.observer?.finished({ model: request.model, signal: request.signal, promptTokens, cachedTokens: 0, completionTokens: 0 });
      return { model: info, vectors, promptTokens, loadNs, totalNs: Number(process.hrtime.bigint() - startedAt) };
    } finally {
      hold.release();
    }
  }
}

async function embedWith(loaded: LoadedModel, context: LlamaEmbeddingContext, request: EmbeddingRequest): Promise<{ vectors: number[][]; promptTokens: number }> {
  const model = loaded.model;
  if (request.dimensions !== undefined && request.dimensions > model.embeddingVectorSize) {
    throw new InvalidRequestError(`dimensions must be at most ${model.embeddingVectorSize}, the embedding length of model "${request.model}"`, "dimensions");
  }
  const field = request.field ?? "input";
  const paramOf = (i: number) => (request.inputs.length > 1 ? `${field}[${i}]` : field);
  // node-llama-cpp refuses an input that fills the whole context; a request's own limit may be lower.
  const limited = request.contextLimit !== undefined && request.contextLimit < loaded.contextSize;
  const maxLength = limited ? request.contextLimit! : loaded.contextSize - 1;
  const limit = limited ? `The context is limited to ${maxLength} tokens` : `This model's maximum context length is ${loaded.contextSize} tokens`;
  const inputs = request.inputs.map((input, i) => {
    // A text far longer than the context is refused before it is tokenized, or only its start is tokenized to be cut.
    const fewest = typeof input === "string" && !request.truncate ? tooLongToTokenize(model, input, maxLength + 1) : undefined;
    if (fewest !== undefined) throw new InvalidRequestError(`${limit}, but ${paramOf(i)} is at least ${fewest} tokens long.`, paramOf(i), "context_length_exceeded");
    const tokens = tokensOf(model, input, paramOf(i), request.truncate ? maxLength + 1 : undefined);
    const length = context.calculateInputLength(tokens);
    if (length <= maxLength) return tokens;
    if (request.truncate) return truncated(context, tokens, maxLength, paramOf(i));
    throw new InvalidRequestError(`${limit}, but ${paramOf(i)} is ${length} tokens long.`, paramOf(i), "context_length_exceeded");
  });

  const vectors: number[][] = [];
  let promptTokens = 0;
  for (const tokens of inputs) {
    if (request.signal?.aborted) throw new CancelledError();
    promptTokens += context.calculateInputLength(tokens);
    const { vector } = await context.getEmbeddingFor(tokens);
    vectors.push(request.normalize === false ? [...vector] : unitLength(vector.slice(0, request.dimensions)));
  }
  return { vectors, promptTokens };
}

/** The longest start of the input that fits, counting the tokens the context adds around it (BOS, EOS). */
function truncated(context: LlamaEmbeddingContext, tokens: Token[], maxLength: number, param: string): Token[] {
  const added = context.calculateInputLength(tokens) - tokens.length;
  let kept = tokens.slice(0, Math.max(0, maxLength - added));
  while (kept.length > 0 && context.calculateInputLength(kept) > maxLength) kept = kept.slice(0, -1);
  if (kept.length === 0) throw new InvalidRequestError(`${param} cannot be truncated to fit in ${maxLength} tokens`, param, "context_length_exceeded");
  return kept;
}

/** `atMost`: only that many tokens are wanted (the input is to be cut), so a long text's start is tokenized, not all of it. */
function tokensOf(model: LlamaModel, input: string | number[], param: string, atMost?: number): Token[] {
  if (typeof input !== "string") return checkTokenIds(model, input, param);
  if (input === "") throw new InvalidRequestError(`${param} must not be an empty string`, param);
  return atMost === undefined ? model.tokenize(input) : tokenizeStart(model, input, atMost);
}

function unitLength(vector: readonly number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm === 0 ? [...vector] : vector.map((x) => x / norm);
}
