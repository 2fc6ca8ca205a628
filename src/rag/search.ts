import type { Principal } from "../auth/principal.ts";
import type { Engine } from "../engine/engine.ts";
import { InvalidRequestError, ObjectNotFoundError } from "../errors.ts";
import type { Attributes, StoredVectorStore } from "../store/vector-stores.ts";
import { viewerOf, type Viewer } from "../store/viewer.ts";
import { matches, type Filter } from "./filters.ts";
import type { Library } from "./library.ts";

export interface SearchOptions {
  vectorStoreIds: string[];
  /** one query, or several whose results are merged (a chunk scores its best) */
  query: string | string[];
  /** 1 to 50 */
  maxNumResults: number;
  /** results scoring below it are left out (0 to 1) */
  scoreThreshold?: number;
  /** on the files' attributes */
  filters?: Filter;
  signal?: AbortSignal;
}

export interface SearchResult {
  fileId: string;
  filename: string;
  /** cosine similarity of the query's and the chunk's embeddings, floored at 0 */
  score: number;
  /** the chunk */
  text: string;
  attributes: Attributes;
}

/**
 * Searches vector stores for the chunks nearest a query, best first: what
 * POST /v1/vector_stores/{id}/search answers and what chat retrieval (`rag_params`) puts before
 * the model. `who`: a principal (the admin scope searches anyone's stores) or an owner string
 * (that owner's alone). Every id must name a store `who` sees, else ObjectNotFoundError with param
 * `vector_store_ids`; stores embedded with different models cannot be searched together (400).
 * Only completed files are searched; a search counts as the stores' activity.
 */
export async function searchStores(library: Library, engine: Engine, who: Principal | string, options: SearchOptions): Promise<SearchResult[]> {
  const viewer: Viewer = typeof who === "string" ? { owner: who, all: false } : viewerOf(who);
  const stores = options.vectorStoreIds.map((id) => {
    const store = library.stores.get(viewer, id);
    if (!store) throw new ObjectNotFoundError(`Vector store with id '${id}' not found.`, "vector_store_ids");
    return store;
  });
  if (stores.length === 0) throw new InvalidRequestError("vector_store_ids must name at least one vector store", "vector_store_ids");
  const model = sharedModel(stores);
  const queries = typeof options.query === "string" ? [options.query] : options.query;
  if (queries.length === 0 || queries.some((query) => query.trim() === "")) throw new InvalidRequestError("query must not be empty", "query");
  const { vectors } = await engine.embeddings.embed({ model, inputs: queries, field: "query", truncate: true, signal: options.signal });

  const best = new Map<string, { storeId: string; chunkId: number; fileId: string; score: number }>();
  const files = new Map<string, { filename: string; attributes: Attributes }>();
  for (const store of stores) {
    const searchable = new Map(library.stores.searchable(store.id).map((file) => [file.fileId, file]));
    for (const [fileId, file] of searchable) files.set(fileId, file);
    const allowed = (fileId: string) => {
      const file = searchable.get(fileId);
      return file !== undefined && (options.filters === undefined || matches(options.filters, file.attributes));
    };
    const index = library.index(store.id);
    for (const vector of vectors) {
      if (index.size > 0 && vector.length !== index.dimensions) {
        throw new InvalidRequestError(`vector store ${store.id} holds ${index.dimensions}-dimensional embeddings, but "${model}" now makes ${vector.length}-dimensional ones; index its files again`, "vector_store_ids");
      }
      for (const hit of index.search(Float32Array.from(vector), options.maxNumResults, allowed, options.scoreThreshold)) {
        const key = `${store.id}/${hit.chunkId}`;
        if ((best.get(key)?.score ?? -Infinity) < hit.score) best.set(key, { storeId: store.id, ...hit });
      }
    }
    library.stores.touch(store.id);
  }
  const top = [...best.values()].sort((a, b) => b.score - a.score).slice(0, options.maxNumResults);
  const texts = library.stores.texts(top.map((hit) => hit.chunkId));
  return top.map((hit) => {
    const file = files.get(hit.fileId)!;
    return { fileId: hit.fileId, filename: file.filename, score: Math.min(1, Math.max(0, hit.score)), text: texts.get(hit.chunkId)!, attributes: file.attributes };
  });
}

function sharedModel(stores: StoredVectorStore[]): string {
  const models = [...new Set(stores.map((store) => store.embeddingModel))];
  if (models.length > 1) {
    throw new InvalidRequestError(`these vector stores were embedded with different models (${models.join(", ")}), whose scores cannot be compared: search them one at a time`, "vector_store_ids");
  }
  return models[0]!;
}
