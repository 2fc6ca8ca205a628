import { t, type Static } from "elysia";
import { principalOf } from "../auth/principal.ts";
import type { Engine } from "../engine/engine.ts";
import type { EngineMessage } from "../engine/types.ts";
import { parseFilter } from "../rag/filters.ts";
import type { Library } from "../rag/library.ts";
import { lastUserText, retrieve, type RetrievalParams, type RetrievedChunk } from "../rag/retrieval.ts";

/** The most chunks a request may have put before the model. */
const MAX_RESULTS = 50;
/** Seed 003's default. */
const DEFAULT_RESULTS = 5;

/** Seed 003's `rag_params`, shared by the dialects that take it (OpenAI's and Ollama's chat). */
export const RagParams = t.Object(
  {
    vector_store_ids: t.Array(t.String(), { description: "The vector stores to search (the caller's own; an unknown id is a 404)" }),
    max_num_results: t.Optional(t.Integer({ minimum: 1, maximum: MAX_RESULTS, description: `Chunks put before the model, 1 to ${MAX_RESULTS}; default ${DEFAULT_RESULTS}` })),
    score_threshold: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "Leave out chunks scoring below it" })),
    filters: t.Optional(t.Nullable(t.Unknown({ description: "OpenAI's comparison or compound filter on the files' attributes" }))),
    rerank: t.Optional(t.Boolean({ description: "Order the candidates with the server's reranker (--rerank-model); its score replaces the similarity" })),
  },
  {
    description:
      "Retrieval-augmented generation (seed 003): the last user message is searched for in the vector stores, and the chunks found go to the model as context in the system prompt, " +
      "with their sources. The response lists them in `rag_context` (streamed: in the first chunk). No stores or no match: the model answers without context and `rag_context` is empty.",
  },
);
export type RagParamsT = Static<typeof RagParams>;

/** The chunks a response was given, as it reports them. */
export const RagContext = t.Array(
  t.Object({
    file_id: t.String(),
    filename: t.String(),
    score: t.Number({ description: "Similarity to the query (0 to 1), or the reranker's probability when reranked" }),
    text: t.String(),
  }),
  { description: "Hearth extension (rag_params): the chunks put before the model, best first" },
);
export type RagContextT = Static<typeof RagContext>;

export function retrievalParams(params: RagParamsT, field = "rag_params"): RetrievalParams {
  return {
    vectorStoreIds: params.vector_store_ids,
    maxNumResults: params.max_num_results ?? DEFAULT_RESULTS,
    scoreThreshold: params.score_threshold,
    filters: params.filters == null ? undefined : parseFilter(params.filters, `${field}.filters`),
    rerank: params.rerank === true,
  };
}

export function ragContext(chunks: RetrievedChunk[]): RagContextT {
  return chunks.map((chunk) => ({ file_id: chunk.fileId, filename: chunk.filename, score: chunk.score, text: chunk.text }));
}

/**
 * A chat request's retrieval: the chunks its last user message finds in the stores its
 * `rag_params` name, as the caller may see them; undefined when it asks for none.
 */
export async function retrievalFor(library: Library, engine: Engine, request: Request, params: RagParamsT | null | undefined, messages: EngineMessage[]): Promise<RetrievedChunk[] | undefined> {
  if (params == null) return undefined;
  return retrieve(library, engine, principalOf(request), retrievalParams(params), lastUserText(messages), { field: "rag_params", signal: request.signal });
}
