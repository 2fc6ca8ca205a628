import type { Database } from "bun:sqlite";
import type { Engine } from "../engine/engine.ts";
import { Files } from "../store/files.ts";
import { VectorStores, type Attributes, type Chunking, type NewChunk, type VectorStoreFile } from "../store/vector-stores.ts";
import type { Viewer } from "../store/viewer.ts";
import { Ingestion, type IngestionJob } from "./ingestion.ts";
import { VectorIndex } from "./vector-index.ts";

export interface LibrarySettings {
  /** the data directory: uploaded files are kept in its `files` folder */
  dataDir: string;
  /** the model vector stores embed with unless they name another; undefined: each store must name one */
  embeddingModel?: string;
  /** bytes an uploaded file may have */
  maxFileSize: number;
}

/**
 * Uploaded files and the vector stores that index them, kept consistent together: the store's
 * rows, the in-memory index of each store searched since the start (built from the rows on first
 * use, then kept up to date), and the ingestion queue. Whatever removes chunks (deleting a file or
 * a store, detaching a file) goes through here, so that no index keeps a chunk the rows lost.
 */
export class Library {
  readonly files: Files;
  readonly stores: VectorStores;
  readonly ingestion: Ingestion;
  private readonly indexes = new Map<string, VectorIndex>();

  constructor(
    engine: Engine,
    db: Database,
    readonly settings: LibrarySettings,
  ) {
    // Files first: vector store files refer to them.
    this.files = new Files(db, settings.dataDir);
    this.stores = new VectorStores(db);
    this.ingestion = new Ingestion(this, engine);
  }

  /** Clears what a crash left of uploads and resumes ingestion; serve calls it once. */
  start(): void {
    this.files.sweep();
    this.ingestion.start();
  }

  /** Abandons the ingestion under way (it resumes at the next start). */
  stop(): Promise<void> {
    return this.ingestion.stop();
  }

  /** A store's index, built from its rows when first searched. */
  index(vectorStoreId: string): VectorIndex {
    let index = this.indexes.get(vectorStoreId);
    if (!index) {
      index = new VectorIndex();
      index.reserve(this.stores.chunkCount(vectorStoreId));
      index.add(this.stores.vectors(vectorStoreId));
      this.indexes.set(vectorStoreId, index);
    }
    return index;
  }

  /** Attaches a file to a store and queues its ingestion; a file already attached is answered as it is. */
  attach(vectorStoreId: string, fileId: string, attributes: Attributes, chunking: Chunking): VectorStoreFile {
    const { file, created } = this.stores.attach(vectorStoreId, fileId, attributes, chunking);
    if (created) this.ingestion.enqueue({ vectorStoreId, fileId });
    return file;
  }

  /** Writes an ingested file's chunks, and adds them to its store's index when that is in memory. */
  completed(job: IngestionJob, chunks: NewChunk[]): void {
    const ids = this.stores.complete(job.vectorStoreId, job.fileId, chunks);
    if (!ids) return;
    this.indexes.get(job.vectorStoreId)?.add(chunks.map((chunk, i) => ({ id: ids[i]!, fileId: job.fileId, vector: chunk.vector })));
  }

  detach(vectorStoreId: string, fileId: string): boolean {
    this.ingestion.cancel((job) => job.vectorStoreId === vectorStoreId && job.fileId === fileId);
    const detached = this.stores.detach(vectorStoreId, fileId);
    this.indexes.get(vectorStoreId)?.removeFile(fileId);
    return detached;
  }

  deleteStore(viewer: Viewer, id: string): boolean {
    if (!this.stores.get(viewer, id)) return false;
    this.ingestion.cancel((job) => job.vectorStoreId === id);
    this.indexes.delete(id);
    return this.stores.delete(viewer, id);
  }

  /** Deletes a file and, with it, its chunks in every store. */
  deleteFile(viewer: Viewer, id: string): boolean {
    if (!this.files.get(viewer, id)) return false;
    const stores = this.stores.storesOf(id);
    this.ingestion.cancel((job) => job.fileId === id);
    const deleted = this.files.delete(viewer, id);
    for (const store of stores) this.indexes.get(store)?.removeFile(id);
    return deleted;
  }
}
