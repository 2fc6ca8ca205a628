import type { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { migrate } from "./database.ts";
import { keysetPage, type CursorOptions } from "./keyset-page.ts";
import { visibleTo, type Viewer } from "./viewer.ts";

const SCHEMA = {
  name: "vector_stores",
  migrations: [
    `CREATE TABLE vector_stores (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       owner TEXT NOT NULL,
       name TEXT NOT NULL,
       embedding_model TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       last_active_at INTEGER NOT NULL,
       expires_after_days INTEGER,
       metadata TEXT NOT NULL DEFAULT '{}'
     );
     CREATE INDEX vector_stores_by_owner ON vector_stores (owner, seq);
     CREATE TABLE vector_store_files (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
       file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
       status TEXT NOT NULL,
       last_error TEXT,
       attributes TEXT NOT NULL DEFAULT '{}',
       max_chunk_size_tokens INTEGER NOT NULL,
       chunk_overlap_tokens INTEGER NOT NULL,
       usage_bytes INTEGER NOT NULL DEFAULT 0,
       created_at INTEGER NOT NULL,
       UNIQUE (vector_store_id, file_id)
     );
     CREATE INDEX vector_store_files_by_file ON vector_store_files (file_id);
     CREATE INDEX vector_store_files_by_status ON vector_store_files (status);
     CREATE TABLE vector_store_chunks (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       vector_store_id TEXT NOT NULL,
       file_id TEXT NOT NULL,
       position INTEGER NOT NULL,
       text TEXT NOT NULL,
       vector BLOB NOT NULL,
       FOREIGN KEY (vector_store_id, file_id) REFERENCES vector_store_files (vector_store_id, file_id) ON DELETE CASCADE
     );
     CREATE INDEX vector_store_chunks_by_file ON vector_store_chunks (vector_store_id, file_id, position);`,
  ],
};

export type FileStatus = "in_progress" | "completed" | "failed" | "cancelled";

/** OpenAI's file attributes: up to 16 keys with string, number or boolean values, which search filters read. */
export type Attributes = Record<string, string | number | boolean>;

export interface Chunking {
  maxChunkSizeTokens: number;
  chunkOverlapTokens: number;
}

export interface FileError {
  code: "server_error" | "unsupported_file" | "invalid_file";
  message: string;
}

export interface StoredVectorStore {
  id: string;
  owner: string;
  name: string;
  /** the model its chunks were embedded with, which its queries must be embedded with too */
  embeddingModel: string;
  createdAt: number;
  lastActiveAt: number;
  /** days after the last activity the store expires; undefined: never */
  expiresAfterDays?: number;
  metadata: Record<string, string>;
}

export interface VectorStoreFile {
  vectorStoreId: string;
  fileId: string;
  status: FileStatus;
  lastError?: FileError;
  attributes: Attributes;
  chunking: Chunking;
  usageBytes: number;
  createdAt: number;
}

export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

/** A chunk as ingestion makes it: its place in the file, its text, its unit-length embedding. */
export interface NewChunk {
  position: number;
  text: string;
  vector: Float32Array;
}

interface StoreRow {
  seq: number;
  id: string;
  owner: string;
  name: string;
  embedding_model: string;
  created_at: number;
  last_active_at: number;
  expires_after_days: number | null;
  metadata: string;
}

interface FileRow {
  seq: number;
  vector_store_id: string;
  file_id: string;
  status: FileStatus;
  last_error: string | null;
  attributes: string;
  max_chunk_size_tokens: number;
  chunk_overlap_tokens: number;
  usage_bytes: number;
  created_at: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Vector stores, the files attached to them, and their chunks with their embeddings (OpenAI's
 * Vector Stores API). A file's chunks are written in one transaction with its status, so a file is
 * either in progress with no chunks or done with all of them; deleting a store, detaching a file
 * or deleting the file itself takes its chunks along (foreign keys).
 */
export class VectorStores {
  constructor(private readonly db: Database) {
    migrate(db, SCHEMA);
  }

  create(owner: string, fields: { name: string; embeddingModel: string; metadata: Record<string, string>; expiresAfterDays?: number }): StoredVectorStore {
    const now = nowSeconds();
    const store: StoredVectorStore = { id: `vs_${randomBytes(12).toString("hex")}`, owner, createdAt: now, lastActiveAt: now, ...fields };
    this.db
      .query("INSERT INTO vector_stores (id, owner, name, embedding_model, created_at, last_active_at, expires_after_days, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(store.id, owner, store.name, store.embeddingModel, now, now, store.expiresAfterDays ?? null, JSON.stringify(store.metadata));
    return store;
  }

  get(viewer: Viewer, id: string): StoredVectorStore | undefined {
    const { where, params } = visibleTo(viewer);
    const row = this.db.query<StoreRow, [string, string, number]>(`SELECT * FROM vector_stores WHERE id = ? AND ${where}`).get(id, ...params);
    return row ? storeOf(row) : undefined;
  }

  list(viewer: Viewer, options: CursorOptions): { stores: StoredVectorStore[]; hasMore: boolean } | undefined {
    const { where, params } = visibleTo(viewer);
    const page = keysetPage<StoreRow>(this.db, { table: "vector_stores", idColumn: "id", where, params }, options);
    return page && { stores: page.rows.map(storeOf), hasMore: page.hasMore };
  }

  /** Changes what is given (null expiry: never expires); undefined when the viewer has no such store. */
  update(viewer: Viewer, id: string, changes: { name?: string; metadata?: Record<string, string>; expiresAfterDays?: number | null }): StoredVectorStore | undefined {
    const store = this.get(viewer, id);
    if (!store) return undefined;
    const expires = changes.expiresAfterDays === undefined ? (store.expiresAfterDays ?? null) : changes.expiresAfterDays;
    this.db
      .query("UPDATE vector_stores SET name = ?, metadata = ?, expires_after_days = ? WHERE id = ?")
      .run(changes.name ?? store.name, JSON.stringify(changes.metadata ?? store.metadata), expires, id);
    return this.get(viewer, id);
  }

  delete(viewer: Viewer, id: string): boolean {
    const { where, params } = visibleTo(viewer);
    return this.db.query(`DELETE FROM vector_stores WHERE id = ? AND ${where}`).run(id, ...params).changes > 0;
  }

  /** A search counts as activity: expiry runs from the last one. */
  touch(id: string): void {
    this.db.query("UPDATE vector_stores SET last_active_at = ? WHERE id = ?").run(nowSeconds(), id);
  }

  counts(id: string): { fileCounts: FileCounts; usageBytes: number } {
    const rows = this.db.query<{ status: FileStatus; n: number; bytes: number }, [string]>("SELECT status, COUNT(*) AS n, SUM(usage_bytes) AS bytes FROM vector_store_files WHERE vector_store_id = ? GROUP BY status").all(id);
    const fileCounts: FileCounts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
    let usageBytes = 0;
    for (const row of rows) {
      fileCounts[row.status] = row.n;
      fileCounts.total += row.n;
      usageBytes += row.bytes;
    }
    return { fileCounts, usageBytes };
  }

  /** Attaches a file, in progress; a file already attached is left as it is (`created` false). */
  attach(vectorStoreId: string, fileId: string, attributes: Attributes, chunking: Chunking): { file: VectorStoreFile; created: boolean } {
    const created =
      this.db
        .query("INSERT INTO vector_store_files (vector_store_id, file_id, status, attributes, max_chunk_size_tokens, chunk_overlap_tokens, created_at) VALUES (?, ?, 'in_progress', ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .run(vectorStoreId, fileId, JSON.stringify(attributes), chunking.maxChunkSizeTokens, chunking.chunkOverlapTokens, nowSeconds()).changes > 0;
    return { file: this.file(vectorStoreId, fileId)!, created };
  }

  file(vectorStoreId: string, fileId: string): VectorStoreFile | undefined {
    const row = this.db.query<FileRow, [string, string]>("SELECT * FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?").get(vectorStoreId, fileId);
    return row ? storeFileOf(row) : undefined;
  }

  /** A page of a store's files, of one status or all; undefined when a cursor names none of them. */
  files(vectorStoreId: string, status: FileStatus | undefined, options: CursorOptions): { files: VectorStoreFile[]; hasMore: boolean } | undefined {
    const where = status === undefined ? "vector_store_id = ?" : "vector_store_id = ? AND status = ?";
    const params = status === undefined ? [vectorStoreId] : [vectorStoreId, status];
    const page = keysetPage<FileRow>(this.db, { table: "vector_store_files", idColumn: "file_id", where, params }, options);
    return page && { files: page.rows.map(storeFileOf), hasMore: page.hasMore };
  }

  /** The files of a store searches read: completed ones, with their names and attributes. */
  searchable(vectorStoreId: string): Array<{ fileId: string; filename: string; attributes: Attributes }> {
    return this.db
      .query<{ file_id: string; filename: string; attributes: string }, [string]>(
        "SELECT v.file_id, f.filename, v.attributes FROM vector_store_files v JOIN files f ON f.id = v.file_id WHERE v.vector_store_id = ? AND v.status = 'completed'",
      )
      .all(vectorStoreId)
      .map((row) => ({ fileId: row.file_id, filename: row.filename, attributes: JSON.parse(row.attributes) }));
  }

  setAttributes(vectorStoreId: string, fileId: string, attributes: Attributes): VectorStoreFile | undefined {
    const changed = this.db.query("UPDATE vector_store_files SET attributes = ? WHERE vector_store_id = ? AND file_id = ?").run(JSON.stringify(attributes), vectorStoreId, fileId).changes;
    return changed > 0 ? this.file(vectorStoreId, fileId) : undefined;
  }

  detach(vectorStoreId: string, fileId: string): boolean {
    return this.db.query("DELETE FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?").run(vectorStoreId, fileId).changes > 0;
  }

  /** The stores a file is attached to. */
  storesOf(fileId: string): string[] {
    return this.db.query<{ vector_store_id: string }, [string]>("SELECT vector_store_id FROM vector_store_files WHERE file_id = ?").all(fileId).map((row) => row.vector_store_id);
  }

  /** Files still to ingest, oldest first: those attached since, and those whose ingestion a stop or a crash interrupted. */
  pending(): Array<{ vectorStoreId: string; fileId: string }> {
    return this.db
      .query<{ vector_store_id: string; file_id: string }, []>("SELECT vector_store_id, file_id FROM vector_store_files WHERE status = 'in_progress' ORDER BY seq")
      .all()
      .map((row) => ({ vectorStoreId: row.vector_store_id, fileId: row.file_id }));
  }

  /**
   * A file's chunks and its completion, in one transaction: chunks left by an earlier attempt are
   * replaced, never added to. Returns the new chunks' ids in order, or undefined (nothing written)
   * when the file is no longer in progress in the store: detached or deleted meanwhile.
   */
  complete(vectorStoreId: string, fileId: string, chunks: NewChunk[]): number[] | undefined {
    return this.db
      .transaction(() => {
        if (this.file(vectorStoreId, fileId)?.status !== "in_progress") return undefined;
        this.db.query("DELETE FROM vector_store_chunks WHERE vector_store_id = ? AND file_id = ?").run(vectorStoreId, fileId);
        const insert = this.db.query<{ id: number }, [string, string, number, string, Uint8Array]>(
          "INSERT INTO vector_store_chunks (vector_store_id, file_id, position, text, vector) VALUES (?, ?, ?, ?, ?) RETURNING id",
        );
        let usageBytes = 0;
        const ids = chunks.map((chunk) => {
          usageBytes += Buffer.byteLength(chunk.text) + chunk.vector.byteLength;
          return insert.get(vectorStoreId, fileId, chunk.position, chunk.text, new Uint8Array(chunk.vector.buffer, chunk.vector.byteOffset, chunk.vector.byteLength))!.id;
        });
        this.db.query("UPDATE vector_store_files SET status = 'completed', last_error = NULL, usage_bytes = ? WHERE vector_store_id = ? AND file_id = ?").run(usageBytes, vectorStoreId, fileId);
        return ids;
      })
      .immediate();
  }

  fail(vectorStoreId: string, fileId: string, error: FileError): void {
    this.db
      .query("UPDATE vector_store_files SET status = 'failed', last_error = ? WHERE vector_store_id = ? AND file_id = ? AND status = 'in_progress'")
      .run(JSON.stringify(error), vectorStoreId, fileId);
  }

  /** Every chunk's id, file and embedding in a store, in the order they were written: what its in-memory index is built from. */
  *vectors(vectorStoreId: string): Generator<{ id: number; fileId: string; vector: Float32Array }> {
    const query = this.db.query<{ id: number; file_id: string; vector: Uint8Array }, [string]>("SELECT id, file_id, vector FROM vector_store_chunks WHERE vector_store_id = ?");
    for (const row of query.iterate(vectorStoreId)) {
      const { buffer, byteOffset, byteLength } = row.vector;
      // A view where the blob's bytes may start a Float32Array (they do: each blob comes in its own buffer), else a copy.
      const vector = byteOffset % 4 === 0 ? new Float32Array(buffer, byteOffset, byteLength / 4) : new Float32Array(row.vector.slice().buffer);
      yield { id: row.id, fileId: row.file_id, vector };
    }
  }

  chunkCount(vectorStoreId: string): number {
    return this.db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM vector_store_chunks WHERE vector_store_id = ?").get(vectorStoreId)!.n;
  }

  /** The texts of the chunks with these ids. */
  texts(ids: number[]): Map<number, string> {
    const query = this.db.query<{ text: string }, [number]>("SELECT text FROM vector_store_chunks WHERE id = ?");
    return new Map(ids.map((id) => [id, query.get(id)?.text ?? ""]));
  }
}

function storeOf(row: StoreRow): StoredVectorStore {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    embeddingModel: row.embedding_model,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    ...(row.expires_after_days !== null && { expiresAfterDays: row.expires_after_days }),
    metadata: JSON.parse(row.metadata),
  };
}

function storeFileOf(row: FileRow): VectorStoreFile {
  return {
    vectorStoreId: row.vector_store_id,
    fileId: row.file_id,
    status: row.status,
    ...(row.last_error !== null && { lastError: JSON.parse(row.last_error) }),
    attributes: JSON.parse(row.attributes),
    chunking: { maxChunkSizeTokens: row.max_chunk_size_tokens, chunkOverlapTokens: row.chunk_overlap_tokens },
    usageBytes: row.usage_bytes,
    createdAt: row.created_at,
  };
}
