import { t, type Static } from "elysia";
import { Metadata } from "../conversations/metadata.ts";
import { Limit } from "../conversations/schemas.ts";

/**
 * OpenAI's Vector Stores API (`/v1/vector_stores`): the requests as Hearth reads them (unknown
 * fields are ignored) and the objects it answers with, in OpenAI's shapes.
 */

export const MAX_RESULTS = 50;
const MAX_FILE_IDS = 500;

const AttributeValue = t.Union([t.String(), t.Number(), t.Boolean()]);
/** Bounds are checked in `checkAttributes`, whose 400 names the attribute. */
export const Attributes = t.Record(t.String(), AttributeValue, {
  description: "Up to 16 key-value pairs (keys of at most 64 characters; strings of at most 512, numbers, booleans) that search filters read",
});

const AutoChunking = t.Object({ type: t.Literal("auto") }, { description: "800-token chunks overlapping by 400" });
const StaticChunking = t.Object({
  type: t.Literal("static"),
  static: t.Object({
    max_chunk_size_tokens: t.Integer({ description: "100 to 4096 tokens of the store's embedding model" }),
    chunk_overlap_tokens: t.Integer({ description: "At most half of max_chunk_size_tokens" }),
  }),
});
export const ChunkingStrategy = t.Union([AutoChunking, StaticChunking], { description: "How files are cut into chunks; default auto" });
export type ChunkingStrategyT = Static<typeof ChunkingStrategy>;

const ExpiresAfter = t.Object({
  anchor: t.Literal("last_active_at"),
  days: t.Integer({ description: "1 to 365 days after the last search or change" }),
});

export const CreateVectorStoreBody = t.Object({
  name: t.Optional(t.String()),
  file_ids: t.Optional(t.Array(t.String(), { maxItems: MAX_FILE_IDS, description: `Files to attach and index, at most ${MAX_FILE_IDS}` })),
  description: t.Optional(t.String({ description: "Accepted; not kept" })),
  expires_after: t.Optional(ExpiresAfter),
  chunking_strategy: t.Optional(ChunkingStrategy),
  metadata: t.Optional(t.Nullable(Metadata)),
  embedding_model: t.Optional(
    t.String({ description: "Hearth's own: the model the store's chunks and queries are embedded with; default the server's --embedding-model. Fixed for the store's life" }),
  ),
});

export const UpdateVectorStoreBody = t.Object({
  name: t.Optional(t.Nullable(t.String())),
  expires_after: t.Optional(t.Nullable(ExpiresAfter, { description: "null: never expires" })),
  metadata: t.Optional(t.Nullable(Metadata)),
});

export const CreateVectorStoreFileBody = t.Object({
  file_id: t.String(),
  attributes: t.Optional(t.Nullable(Attributes)),
  chunking_strategy: t.Optional(ChunkingStrategy),
});

export const UpdateVectorStoreFileBody = t.Object({ attributes: t.Nullable(Attributes, { description: "Replaces the attributes; null clears them" }) });

const ComparisonFilter = t.Object({
  type: t.Union(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"].map((op) => t.Literal(op))),
  key: t.String({ description: "An attribute" }),
  value: t.Union([t.String(), t.Number(), t.Boolean(), t.Array(t.Union([t.String(), t.Number()]))], { description: "An array for in and nin" }),
});
const CompoundFilter = t.Object({
  type: t.Union([t.Literal("and"), t.Literal("or")]),
  filters: t.Array(t.Unknown({ description: "A comparison or compound filter, nested to any depth" })),
});

export const SearchBody = t.Object({
  query: t.Union([t.String(), t.Array(t.String())], { description: "A query, or several whose results are merged" }),
  rewrite_query: t.Optional(t.Boolean({ description: "Accepted; the query is searched as written" })),
  max_num_results: t.Optional(t.Integer({ description: `1 to ${MAX_RESULTS}; default 10` })),
  filters: t.Optional(t.Union([ComparisonFilter, CompoundFilter], { description: "On the files' attributes" })),
  ranking_options: t.Optional(
    t.Object({
      ranker: t.Optional(t.String({ description: "Accepted; results are ranked by cosine similarity" })),
      score_threshold: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "Leave out results scoring below it" })),
    }),
  ),
});

export const StoreParams = t.Object({ vector_store_id: t.String() });
export const StoreFileParams = t.Object({ vector_store_id: t.String(), file_id: t.String() });

const Order = t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")], { description: "By creation; default desc: newest first" }));

export const ListStoresQuery = t.Object({
  limit: Limit,
  order: Order,
  after: t.Optional(t.String({ description: "An id: the page starts after it" })),
  before: t.Optional(t.String({ description: "An id: the page ends before it" })),
});

export const ListStoreFilesQuery = t.Object({
  ...ListStoresQuery.properties,
  filter: t.Optional(t.Union(["in_progress", "completed", "failed", "cancelled"].map((status) => t.Literal(status)), { description: "Only files of this status" })),
});

const FileCounts = t.Object({ in_progress: t.Integer(), completed: t.Integer(), failed: t.Integer(), cancelled: t.Integer(), total: t.Integer() });

export const VectorStore = t.Object({
  id: t.String(),
  object: t.Literal("vector_store"),
  created_at: t.Integer({ description: "Unix seconds" }),
  name: t.String(),
  usage_bytes: t.Integer({ description: "Bytes of its chunks' text and embeddings" }),
  file_counts: FileCounts,
  status: t.Union([t.Literal("expired"), t.Literal("in_progress"), t.Literal("completed")]),
  expires_after: t.Optional(ExpiresAfter),
  expires_at: t.Nullable(t.Integer()),
  last_active_at: t.Nullable(t.Integer()),
  metadata: Metadata,
  embedding_model: t.String({ description: "Hearth's own: the model its chunks and queries are embedded with" }),
});

export const VectorStoreList = t.Object({
  object: t.Literal("list"),
  data: t.Array(VectorStore),
  first_id: t.Nullable(t.String({ description: "null when data is empty" })),
  last_id: t.Nullable(t.String({ description: "null when data is empty" })),
  has_more: t.Boolean(),
});

export const DeletedVectorStore = t.Object({ id: t.String(), object: t.Literal("vector_store.deleted"), deleted: t.Literal(true) });

export const VectorStoreFile = t.Object({
  id: t.String({ description: "The file's id" }),
  object: t.Literal("vector_store.file"),
  usage_bytes: t.Integer(),
  created_at: t.Integer(),
  vector_store_id: t.String(),
  status: t.Union([t.Literal("in_progress"), t.Literal("completed"), t.Literal("cancelled"), t.Literal("failed")]),
  last_error: t.Nullable(
    t.Object({ code: t.Union([t.Literal("server_error"), t.Literal("unsupported_file"), t.Literal("invalid_file")]), message: t.String() }),
  ),
  chunking_strategy: t.Object({ type: t.Literal("static"), static: t.Object({ max_chunk_size_tokens: t.Integer(), chunk_overlap_tokens: t.Integer() }) }),
  attributes: Attributes,
});

export const VectorStoreFileList = t.Object({
  object: t.Literal("list"),
  data: t.Array(VectorStoreFile),
  first_id: t.Nullable(t.String({ description: "null when data is empty" })),
  last_id: t.Nullable(t.String({ description: "null when data is empty" })),
  has_more: t.Boolean(),
});

export const DeletedVectorStoreFile = t.Object({ id: t.String(), object: t.Literal("vector_store.file.deleted"), deleted: t.Literal(true) });

const TextContent = t.Object({ type: t.Literal("text"), text: t.String() });

export const VectorStoreFileContent = t.Object({
  object: t.Literal("vector_store.file_content.page"),
  data: t.Array(TextContent),
  has_more: t.Boolean(),
  next_page: t.Null(),
});

export const SearchResultsPage = t.Object({
  object: t.Literal("vector_store.search_results.page"),
  search_query: t.Array(t.String()),
  data: t.Array(
    t.Object({
      file_id: t.String(),
      filename: t.String(),
      score: t.Number({ description: "Cosine similarity of the query's and the chunk's embeddings, 0 to 1" }),
      attributes: Attributes,
      content: t.Array(TextContent, { description: "The chunk" }),
    }),
  ),
  has_more: t.Boolean(),
  next_page: t.Null(),
});
