import type { Principal } from "../auth/principal.ts";
import type { Engine } from "../engine/engine.ts";
import type { EngineMessage } from "../engine/types.ts";
import { InvalidRequestError, ObjectNotFoundError } from "../errors.ts";
import type { Filter } from "./filters.ts";
import type { Library } from "./library.ts";
import { searchStores } from "./search.ts";

/** What a request asks retrieval for: seed 003's `rag_params`, or the Responses API's `file_search` tool. */
export interface RetrievalParams {
  vectorStoreIds: string[];
  maxNumResults: number;
  scoreThreshold?: number;
  filters?: Filter;
  /** rerank the candidates with the server's reranker (--rerank-model) */
  rerank?: boolean;
}

/** A chunk put before the model, as the response reports it (`rag_context`). */
export interface RetrievedChunk {
  fileId: string;
  filename: string;
  /** the retrieval's similarity, or the reranker's probability when reranked */
  score: number;
  text: string;
  attributes: Record<string, string | number | boolean>;
}

/** The most candidates a reranker is given: it reads each with the query, so more costs time for little gain. */
const MAX_RERANK_CANDIDATES = 50;

/**
 * The chunks of the given vector stores that best answer `query`, best first. With `rerank`, a
 * wider set of candidates is taken by similarity and ordered by the reranker, whose score replaces
 * the similarity. No stores, or an empty query, retrieve nothing.
 */
export async function retrieve(
  library: Library,
  engine: Engine,
  principal: Principal,
  params: RetrievalParams,
  query: string,
  /** field: the request field holding the parameters, which errors name (`rag_params.vector_store_ids`) */
  options: { field: string; signal?: AbortSignal },
): Promise<RetrievedChunk[]> {
  if (params.vectorStoreIds.length === 0 || query.trim() === "") return [];
  const { field, signal } = options;
  const candidates = params.rerank ? Math.min(MAX_RERANK_CANDIDATES, Math.max(params.maxNumResults * 4, 20)) : params.maxNumResults;
  const found = await searchStores(library, engine, principal, {
    vectorStoreIds: params.vectorStoreIds,
    query,
    maxNumResults: candidates,
    scoreThreshold: params.scoreThreshold,
    filters: params.filters,
    signal,
  }).catch((err: unknown) => {
    // The search names its own fields (vector_store_ids); the request holds them under `field`.
    if (err instanceof ObjectNotFoundError) throw new ObjectNotFoundError(err.message, `${field}.${err.param ?? "vector_store_ids"}`);
    if (err instanceof InvalidRequestError && err.param !== undefined && err.param !== "model") throw new InvalidRequestError(err.message, `${field}.${err.param}`, err.code);
    throw err;
  });
  if (!params.rerank || found.length === 0) return found.slice(0, params.maxNumResults);
  const { scores } = await engine.ranking.rank({ query, documents: found.map((chunk) => chunk.text), signal });
  return found
    .map((chunk, i) => ({ ...chunk, score: scores[i]! }))
    .sort((a, b) => b.score - a.score)
    .slice(0, params.maxNumResults);
}

/**
 * The chunks as the model reads them: numbered excerpts naming their files, so that an answer can
 * say where it comes from.
 */
export function contextText(chunks: RetrievedChunk[]): string {
  const excerpts = chunks.map((chunk, i) => `[${i + 1}] ${chunk.filename} (${chunk.fileId})\n${chunk.text.trim()}`);
  return `Excerpts from the user's documents that may help answer the question. Use them when they are relevant and say which file a fact comes from.\n\n${excerpts.join("\n\n")}`;
}

/**
 * The messages with the retrieved context in the system prompt: added to the first system message,
 * or as one before the rest. Chat templates (Qwen's, Mistral's) accept a system message only first.
 */
export function withRetrievedContext(messages: EngineMessage[], chunks: RetrievedChunk[]): EngineMessage[] {
  if (chunks.length === 0) return messages;
  const context = contextText(chunks);
  const [first, ...rest] = messages;
  if (first?.role === "system") return [{ ...first, content: `${first.content}\n\n${context}` }, ...rest];
  return [{ role: "system", content: context }, ...messages];
}

/** What a chat asks retrieval for: its last user message. */
export function lastUserText(messages: EngineMessage[]): string {
  return messages.findLast((message) => message.role === "user")?.content ?? "";
}
