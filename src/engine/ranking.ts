import type { LlamaRankingContext, Token } from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import type { LoadedModel } from "./loaded-model.ts";
import type { ModelPool } from "./model-pool.ts";
import { refuseLongerThanContext } from "./prompt-bound.ts";
import { CancelledError, InvalidRequestError } from "../errors.ts";
import type { EngineObserver } from "./types.ts";

export interface RankingRequest {
  /** the reranker; undefined: the server's default reranker (--rerank-model) */
  model?: string;
  query: string;
  documents: string[];
  signal?: AbortSignal;
}

export interface RankingResult {
  model: ModelInfo;
  /** one score in [0, 1] per document, in document order: the model's probability that the document answers the query */
  scores: number[];
  /** tokens evaluated over all documents, each with the query (and the model's rerank template, if it has one) */
  promptTokens: number;
}

/**
 * Reranking with models that have a classification head (BERT/XLM-R rerankers, Qwen3-Reranker), on
 * the model's own ranking context. Each document is evaluated with the query in one pass; documents
 * are ranked one after another, so a request whose client went away stops at the next document.
 */
export class Ranking {
  constructor(
    readonly catalog: ModelCatalog,
    readonly pool: ModelPool,
    private readonly observer?: EngineObserver,
    /** the reranker retrieval uses when a request names none */
    readonly defaultModel?: string,
  ) {}

  async rank(request: RankingRequest): Promise<RankingResult> {
    const name = request.model ?? this.defaultModel;
    if (name === undefined) throw new InvalidRequestError("No reranker: the request names no model and the server has no default (--rerank-model).", "model");
    const info = await this.catalog.get(name);
    if (!info.capabilities.includes("rerank")) throw notAReranker(name);
    if (request.documents.length === 0) return { model: info, scores: [], promptTokens: 0 };
    const hold = await this.pool.hold(info, { signal: request.signal });
    try {
      // The capability reads the tensors alone; node-llama-cpp also wants an EOS, SEP or rerank template.
      if (!hold.loaded.model.fileInsights.supportsRanking) throw notAReranker(name);
      const context = await hold.loaded.rankingContext();
      const { scores, promptTokens } = await rankWith(hold.loaded, context, request);
      this.observer?.finished({ model: name, signal: request.signal, promptTokens, cachedTokens: 0, completionTokens: 0 });
      return { model: info, scores, promptTokens };
    } finally {
      hold.release();
    }
  }
}

function notAReranker(name: string): InvalidRequestError {
  return new InvalidRequestError(`model "${name}" cannot rerank: it has no classification head (a reranker such as bge-reranker or Qwen3-Reranker has one)`, "model");
}

/** Tokenized as node-llama-cpp's rankAll tokenizes the texts it is given, so the scores are the ones it gives. */
function tokensOf(loaded: LoadedModel, text: string, param: string): Token[] {
  // Tokenizing takes seconds per megabyte: a text no context could hold is refused unread.
  refuseLongerThanContext(loaded.model, text, loaded.contextSize, param);
  return loaded.model.tokenize(text, false, "trimLeadingSpace");
}

async function rankWith(loaded: LoadedModel, context: LlamaRankingContext, request: RankingRequest): Promise<{ scores: number[]; promptTokens: number }> {
  const query = tokensOf(loaded, request.query, "query");
  // node-llama-cpp refuses an input that fills the whole context.
  const maxLength = loaded.contextSize - 1;
  const lengthOf = (document: Token[]) => context.calculateInputLength(query, document);
  if (lengthOf([]) > maxLength) {
    throw new InvalidRequestError(`This model's maximum context length is ${loaded.contextSize} tokens, but query leaves no room for a document.`, "query", "context_length_exceeded");
  }
  const documents = request.documents.map((text, i) => {
    const param = `documents[${i}]`;
    const tokens = tokensOf(loaded, text, param);
    const length = lengthOf(tokens);
    if (length > maxLength) {
      throw new InvalidRequestError(`This model's maximum context length is ${loaded.contextSize} tokens, but query and ${param} are ${length} tokens long.`, param, "context_length_exceeded");
    }
    return tokens;
  });

  const scores: number[] = [];
  let promptTokens = 0;
  for (const document of documents) {
    if (request.signal?.aborted) throw new CancelledError();
    promptTokens += lengthOf(document);
    scores.push(await context.rank(query, document));
  }
  return { scores, promptTokens };
}
