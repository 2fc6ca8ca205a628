import { Elysia } from "elysia";
import { mayUseModel, ownerOf, principalOf, type Principal } from "../../auth/principal.ts";
import type { Engine } from "../../engine/engine.ts";
import { InvalidRequestError, ModelNotFoundError, ObjectNotFoundError } from "../../errors.ts";
import { extractText } from "../../rag/extract.ts";
import { parseFilter } from "../../rag/filters.ts";
import type { Library } from "../../rag/library.ts";
import { searchStores } from "../../rag/search.ts";
import type { StoredVectorStore, VectorStoreFile as StoredFile } from "../../store/vector-stores.ts";
import { viewerOf, type Viewer } from "../../store/viewer.ts";
import { checkMetadata } from "../conversations/metadata.ts";
import { listOf, pageLimit } from "../conversations/pages.ts";
import { fileNotFound } from "../files/routes.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { checkAttributes, chunkingOf } from "./checks.ts";
import {
  CreateVectorStoreBody,
  CreateVectorStoreFileBody,
  DeletedVectorStore,
  DeletedVectorStoreFile,
  ListStoreFilesQuery,
  ListStoresQuery,
  MAX_RESULTS,
  SearchBody,
  SearchResultsPage,
  StoreFileParams,
  StoreParams,
  UpdateVectorStoreBody,
  UpdateVectorStoreFileBody,
  VectorStore,
  VectorStoreFile,
  VectorStoreFileContent,
  VectorStoreFileList,
  VectorStoreList,
} from "./schemas.ts";

const DAY = 86_400;
/** How often OpenAI's SDKs should poll a file in progress (they wait 5 s without a word from the server). */
const POLL_AFTER_MS = "200";

const errors = { 400: OpenAIError, 404: OpenAIError };

function storeNotFound(id: string, param = "vector_store_id"): ObjectNotFoundError {
  return new ObjectNotFoundError(`No vector store found with id '${id}'.`, param);
}

/**
 * OpenAI's Vector Stores API: stores that index uploaded files in chunks embedded by a model,
 * searched by the similarity of a query's embedding. Files are indexed in the background: a file
 * attached is answered at once, in progress, and its store's `file_counts` show the progress.
 * Each store and its files are the creating owner's (another owner's are answered as missing; the
 * admin scope sees all).
 */
export function vectorStoresRoutes(engine: Engine, library: Library) {
  const { stores, files } = library;
  const viewerIn = (request: Request) => viewerOf(principalOf(request));
  const existing = (viewer: Viewer, id: string): StoredVectorStore => {
    const store = stores.get(viewer, id);
    if (!store) throw storeNotFound(id);
    return store;
  };
  const attachedFile = (viewer: Viewer, storeId: string, fileId: string): StoredFile => {
    existing(viewer, storeId);
    const file = stores.file(storeId, fileId);
    if (!file) throw fileNotFound(fileId);
    return file;
  };
  const storeObject = (store: StoredVectorStore) => {
    const { fileCounts, usageBytes } = stores.counts(store.id);
    const expiresAt = store.expiresAfterDays === undefined ? null : store.lastActiveAt + store.expiresAfterDays * DAY;
    const status = expiresAt !== null && expiresAt < Date.now() / 1000 ? "expired" : fileCounts.in_progress > 0 ? "in_progress" : "completed";
    return {
      id: store.id,
      object: "vector_store" as const,
      created_at: store.createdAt,
      name: store.name,
      usage_bytes: usageBytes,
      file_counts: fileCounts,
      status: status as "expired" | "in_progress" | "completed",
      ...(store.expiresAfterDays !== undefined && { expires_after: { anchor: "last_active_at" as const, days: store.expiresAfterDays } }),
      expires_at: expiresAt,
      last_active_at: store.lastActiveAt,
      metadata: store.metadata,
      embedding_model: store.embeddingModel,
    };
  };
  return new Elysia({ ...ROUTE_CONFIG, name: "vector-stores", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/v1/vector_stores",
      async ({ body, request }) => {
        const principal = principalOf(request);
        const viewer = viewerOf(principal);
        const metadata = checkMetadata(body.metadata);
        const chunking = chunkingOf(body.chunking_strategy);
        const days = expiryDays(body.expires_after?.days);
        const fileIds = body.file_ids ?? [];
        fileIds.forEach((id, i) => {
          if (!files.get(viewer, id)) throw fileNotFound(id, `file_ids[${i}]`);
        });
        const embeddingModel = await embeddingModelFor(engine, principal, body.embedding_model ?? library.settings.embeddingModel);
        const store = stores.create(ownerOf(principal), { name: body.name ?? "", embeddingModel, metadata, expiresAfterDays: days });
        for (const id of fileIds) library.attach(store.id, id, {}, chunking);
        return storeObject(store);
      },
      {
        parse: "json",
        body: CreateVectorStoreBody,
        response: { 200: VectorStore, ...errors },
        detail: {
          summary: "Create a vector store",
          description:
            "Its chunks are embedded with `embedding_model` (Hearth's own field), else the server's --embedding-model: with neither, a 400. `file_ids` are attached and indexed in the background; `expires_after` sets `expires_at` (nothing is deleted).",
        },
      },
    )
    .get(
      "/v1/vector_stores",
      ({ query, request }) => {
        const page = stores.list(viewerIn(request), { after: query.after, before: query.before, limit: pageLimit(query.limit), order: query.order ?? "desc" });
        if (!page) throw storeNotFound(query.after ?? query.before!, query.after !== undefined ? "after" : "before");
        return listOf(page.stores.map(storeObject), page.hasMore);
      },
      { query: ListStoresQuery, response: { 200: VectorStoreList, ...errors }, detail: { summary: "List vector stores" } },
    )
    .get("/v1/vector_stores/:vector_store_id", ({ params, request }) => storeObject(existing(viewerIn(request), params.vector_store_id)), {
      params: StoreParams,
      response: { 200: VectorStore, ...errors },
      detail: { summary: "Retrieve a vector store" },
    })
    .post(
      "/v1/vector_stores/:vector_store_id",
      ({ params, body, request }) => {
        const changes = {
          ...(body.name != null && { name: body.name }),
          ...(body.metadata !== undefined && { metadata: checkMetadata(body.metadata) }),
          ...(body.expires_after !== undefined && { expiresAfterDays: body.expires_after === null ? null : expiryDays(body.expires_after.days)! }),
        };
        const updated = stores.update(viewerIn(request), params.vector_store_id, changes);
        if (!updated) throw storeNotFound(params.vector_store_id);
        return storeObject(updated);
      },
      {
        parse: "json",
        params: StoreParams,
        body: UpdateVectorStoreBody,
        response: { 200: VectorStore, ...errors },
        detail: { summary: "Update a vector store", description: "Its name, metadata (replaced whole) or expiry; the embedding model is fixed." },
      },
    )
    .delete(
      "/v1/vector_stores/:vector_store_id",
      ({ params, request }) => {
        if (!library.deleteStore(viewerIn(request), params.vector_store_id)) throw storeNotFound(params.vector_store_id);
        return { id: params.vector_store_id, object: "vector_store.deleted" as const, deleted: true as const };
      },
      {
        params: StoreParams,
        response: { 200: DeletedVectorStore, ...errors },
        detail: { summary: "Delete a vector store", description: "Its chunks go with it; the files stay." },
      },
    )
    .post(
      "/v1/vector_stores/:vector_store_id/files",
      ({ params, body, request, set }) => {
        const viewer = viewerIn(request);
        const store = existing(viewer, params.vector_store_id);
        const attributes = checkAttributes(body.attributes);
        const chunking = chunkingOf(body.chunking_strategy);
        if (!files.get(viewer, body.file_id)) throw fileNotFound(body.file_id, "file_id");
        const file = library.attach(store.id, body.file_id, attributes, chunking);
        if (file.status === "in_progress") set.headers["openai-poll-after-ms"] = POLL_AFTER_MS;
        return storeFileObject(file);
      },
      {
        parse: "json",
        params: StoreParams,
        body: CreateVectorStoreFileBody,
        response: { 200: VectorStoreFile, ...errors },
        detail: {
          summary: "Attach a file to a vector store",
          description: "Answered at once, in progress; the file is indexed in the background (retrieve it to follow). A file already attached is answered as it is.",
        },
      },
    )
    .get(
      "/v1/vector_stores/:vector_store_id/files",
      ({ params, query, request }) => {
        existing(viewerIn(request), params.vector_store_id);
        const page = stores.files(params.vector_store_id, query.filter, { after: query.after, before: query.before, limit: pageLimit(query.limit), order: query.order ?? "desc" });
        if (!page) throw fileNotFound(query.after ?? query.before!, query.after !== undefined ? "after" : "before");
        return listOf(page.files.map(storeFileObject), page.hasMore);
      },
      { params: StoreParams, query: ListStoreFilesQuery, response: { 200: VectorStoreFileList, ...errors }, detail: { summary: "List a vector store's files" } },
    )
    .get(
      "/v1/vector_stores/:vector_store_id/files/:file_id",
      ({ params, request, set }) => {
        const file = attachedFile(viewerIn(request), params.vector_store_id, params.file_id);
        if (file.status === "in_progress") set.headers["openai-poll-after-ms"] = POLL_AFTER_MS;
        return storeFileObject(file);
      },
      { params: StoreFileParams, response: { 200: VectorStoreFile, ...errors }, detail: { summary: "Retrieve a vector store file", description: "Its status, and its last_error when it failed." } },
    )
    .post(
      "/v1/vector_stores/:vector_store_id/files/:file_id",
      ({ params, body, request }) => {
        attachedFile(viewerIn(request), params.vector_store_id, params.file_id);
        return storeFileObject(stores.setAttributes(params.vector_store_id, params.file_id, checkAttributes(body.attributes))!);
      },
      {
        parse: "json",
        params: StoreFileParams,
        body: UpdateVectorStoreFileBody,
        response: { 200: VectorStoreFile, ...errors },
        detail: { summary: "Update a vector store file's attributes", description: "Replaced whole; searches filter on them from then on." },
      },
    )
    .delete(
      "/v1/vector_stores/:vector_store_id/files/:file_id",
      ({ params, request }) => {
        attachedFile(viewerIn(request), params.vector_store_id, params.file_id);
        library.detach(params.vector_store_id, params.file_id);
        return { id: params.file_id, object: "vector_store.file.deleted" as const, deleted: true as const };
      },
      {
        params: StoreFileParams,
        response: { 200: DeletedVectorStoreFile, ...errors },
        detail: { summary: "Detach a file from a vector store", description: "Its chunks leave the store; the file itself stays." },
      },
    )
    .get(
      "/v1/vector_stores/:vector_store_id/files/:file_id/content",
      async ({ params, request }) => {
        attachedFile(viewerIn(request), params.vector_store_id, params.file_id);
        const file = files.byId(params.file_id)!;
        const text = await extractText(await Bun.file(files.path(file.id)).bytes(), file.filename);
        return { object: "vector_store.file_content.page" as const, data: [{ type: "text" as const, text }], has_more: false, next_page: null };
      },
      {
        params: StoreFileParams,
        response: { 200: VectorStoreFileContent, ...errors },
        detail: { summary: "Retrieve a vector store file's parsed text", description: "The text its chunks were cut from: a PDF's text, an HTML page's without its tags." },
      },
    )
    .post(
      "/v1/vector_stores/:vector_store_id/search",
      async ({ params, body, request }) => {
        const principal = principalOf(request);
        existing(viewerOf(principal), params.vector_store_id);
        const maxNumResults = body.max_num_results ?? 10;
        if (maxNumResults < 1 || maxNumResults > MAX_RESULTS) {
          throw new InvalidRequestError(`max_num_results must be between 1 and ${MAX_RESULTS}; it is ${maxNumResults}`, "max_num_results", "invalid_value");
        }
        const filters = body.filters === undefined ? undefined : parseFilter(body.filters);
        const results = await searchStores(library, engine, principal, {
          vectorStoreIds: [params.vector_store_id],
          query: body.query,
          maxNumResults,
          scoreThreshold: body.ranking_options?.score_threshold,
          filters,
          signal: request.signal,
        });
        return {
          object: "vector_store.search_results.page" as const,
          search_query: typeof body.query === "string" ? [body.query] : body.query,
          data: results.map((result) => ({ file_id: result.fileId, filename: result.filename, score: result.score, attributes: result.attributes, content: [{ type: "text" as const, text: result.text }] })),
          has_more: false,
          next_page: null,
        };
      },
      {
        parse: "json",
        params: StoreParams,
        body: SearchBody,
        response: { 200: SearchResultsPage, ...errors },
        detail: {
          summary: "Search a vector store",
          description:
            "The chunks nearest the query by the cosine similarity of their embeddings (exact, over every chunk of the store's completed files), best first; `filters` on the files' attributes (eq, ne, gt, gte, lt, lte, in, nin; and, or), `ranking_options.score_threshold`. `rewrite_query` and `ranker` are accepted and change nothing.",
        },
      },
    );
}

/** The model a new store embeds with: one that exists and that the caller may use. */
async function embeddingModelFor(engine: Engine, principal: Principal, name: string | undefined): Promise<string> {
  if (name === undefined) {
    throw new InvalidRequestError("no embedding model: name one in embedding_model, or start the server with --embedding-model (HEARTH_EMBEDDING_MODEL)", "embedding_model");
  }
  const missing = new ObjectNotFoundError(`The model '${name}' does not exist.`, "embedding_model");
  if (!mayUseModel(principal, name)) throw missing;
  try {
    return (await engine.catalog.get(name)).name;
  } catch (err) {
    throw err instanceof ModelNotFoundError ? missing : err;
  }
}

function expiryDays(days: number | undefined): number | undefined {
  if (days !== undefined && (days < 1 || days > 365)) throw new InvalidRequestError(`expires_after.days must be between 1 and 365; it is ${days}`, "expires_after.days", "invalid_value");
  return days;
}

function storeFileObject(file: StoredFile) {
  return {
    id: file.fileId,
    object: "vector_store.file" as const,
    usage_bytes: file.usageBytes,
    created_at: file.createdAt,
    vector_store_id: file.vectorStoreId,
    status: file.status,
    last_error: file.lastError ?? null,
    chunking_strategy: { type: "static" as const, static: { max_chunk_size_tokens: file.chunking.maxChunkSizeTokens, chunk_overlap_tokens: file.chunking.chunkOverlapTokens } },
    attributes: file.attributes,
  };
}
