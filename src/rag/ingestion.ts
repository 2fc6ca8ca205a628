import type { Engine } from "../engine/engine.ts";
import type { Chunking, FileError, NewChunk } from "../store/vector-stores.ts";
import { SERVER } from "../store/viewer.ts";
import { chunkText } from "./chunking.ts";
import { extractText, FileTextError } from "./extract.ts";
import type { Library } from "./library.ts";

/** A file to index into a store. */
export interface IngestionJob {
  vectorStoreId: string;
  fileId: string;
}

/** Chunks embedded per call: the model is held a batch at a time, and a stop or a cancel is noticed between batches. */
const EMBED_BATCH = 16;

/**
 * The background queue that indexes files attached to vector stores, one file at a time (the
 * embedding model is what bounds it): read the text, cut it into chunks with the store's
 * embedding model's tokenizer, embed the chunks, and write them with the file's completion in one
 * transaction. Nothing is written before that, so a file interrupted by a stop or a crash is still
 * in progress with no chunks, and is ingested again from the start at the next `start`.
 */
export class Ingestion {
  private readonly queue: IngestionJob[] = [];
  private running = false;
  private draining?: Promise<void>;
  private current?: { job: IngestionJob; abort: AbortController };

  constructor(
    private readonly library: Library,
    private readonly engine: Engine,
  ) {}

  /** Takes up the files left in progress, then whatever is attached from now on. */
  start(): void {
    this.running = true;
    this.queue.push(...this.library.stores.pending());
    this.kick();
  }

  enqueue(job: IngestionJob): void {
    this.queue.push(job);
    this.kick();
  }

  /** Stops taking files and abandons the one under way, which stays in progress for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.current?.abort.abort();
    await this.draining;
  }

  /** Drops the jobs `which` selects (their file was detached or deleted), the one under way included. */
  cancel(which: (job: IngestionJob) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (which(this.queue[i]!)) this.queue.splice(i, 1);
    if (this.current && which(this.current.job)) this.current.abort.abort();
  }

  /** Resolves once nothing is queued or under way. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private kick(): void {
    if (!this.running || this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // A job queued after the last look at the queue, before the drain ended.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.running && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const abort = new AbortController();
      this.current = { job, abort };
      try {
        await this.ingest(job, abort.signal);
      } finally {
        this.current = undefined;
      }
    }
  }

  private async ingest(job: IngestionJob, signal: AbortSignal): Promise<void> {
    const { stores, files } = this.library;
    const store = stores.get(SERVER, job.vectorStoreId);
    const attached = stores.file(job.vectorStoreId, job.fileId);
    const file = files.byId(job.fileId);
    if (!store || !file || attached?.status !== "in_progress") return;
    try {
      const text = await extractText(await Bun.file(files.path(file.id)).bytes(), file.filename);
      const texts = await this.chunk(store.embeddingModel, text, attached.chunking, signal);
      const chunks: NewChunk[] = [];
      for (let at = 0; at < texts.length; at += EMBED_BATCH) {
        const batch = texts.slice(at, at + EMBED_BATCH);
        // truncate: a chunk longer than the loaded context is embedded by as much of it as fits.
        const { vectors } = await this.engine.embeddings.embed({ model: store.embeddingModel, inputs: batch, truncate: true, signal });
        batch.forEach((chunkText, i) => chunks.push({ position: at + i, text: chunkText, vector: Float32Array.from(vectors[i]!) }));
      }
      if (signal.aborted) return;
      this.library.completed(job, chunks);
    } catch (err) {
      if (signal.aborted) return;
      const error: FileError = err instanceof FileTextError ? { code: err.code, message: err.message } : { code: "server_error", message: (err as Error).message };
      stores.fail(job.vectorStoreId, job.fileId, error);
    }
  }

  private async chunk(model: string, text: string, chunking: Chunking, signal: AbortSignal): Promise<string[]> {
    const hold = await this.engine.pool.hold(await this.engine.catalog.get(model), { signal });
    try {
      return await chunkText(hold.loaded.model, text, chunking, signal);
    } finally {
      hold.release();
    }
  }
}
