import { closeSync, constants, openSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { InvalidRequestError } from "../errors.ts";
import type { Layer, OllamaStore } from "../models/store.ts";
import { OrderedHasher } from "./blob-hasher.ts";
import { PartialFiles, type Part } from "./blob-parts.ts";
import { fetchOrFail, RegistryError, type RegistryClient } from "./client.ts";
import { asDiskFull, checkFreeSpace, DiskFullError } from "./disk.ts";
import { canWriteAtOffsets, openPartWriter, type PartWriter } from "./file-position.ts";

/** Requests in flight at once for one blob. */
const CONCURRENT_PARTS = 4;
/** Tries per part for errors (a stall is retried without counting); Ollama's maxRetries. */
const MAX_TRIES = 6;
/** How often the hasher looks for newly written bytes, the part table is saved, and progress reported. */
const POLL_MS = 50;
const SAVE_MS = 500;
const PROGRESS_EVERY_MS = 100;

export interface DownloadSettings {
  /** no bytes for this long and a part's request is dropped and made again */
  stallMs: number;
  /** first wait after a failed try; it doubles per try */
  backoffMs: number;
}

export interface BlobProgress {
  digest: string;
  total: number;
  completed: number;
}

class StallError extends Error {}

/** The bytes are not the blob the manifest names (the upstream's fault: 502). */
class DigestMismatchError extends RegistryError {
  constructor(message: string) {
    super(message, 502);
  }
}

type Source = (init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;

/**
 * One blob's download into a store: its parts fetched in parallel Range requests, each streamed by
 * Bun into the partial file at its offset (no JavaScript per chunk), hashed in order as they land,
 * and renamed to the blob's name only once the SHA-256 (and for a model layer the GGUF magic)
 * checks out. What is on disk is always a resumable state. It runs while anyone watches it.
 */
export class BlobDownload {
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private watchers = new Set<(p: BlobProgress) => void>();
  private readonly path: string;
  private readonly files: PartialFiles;
  private parts: Part[] = [];
  /** the writer each running request writes its part through */
  private readonly writing = new Map<Part, PartWriter>();
  private readonly running: Promise<void>[] = [];
  private wake?: () => void;

  constructor(
    store: OllamaStore,
    private readonly client: RegistryClient,
    private readonly layer: Layer,
    private readonly gguf: boolean,
    private readonly settings: DownloadSettings,
  ) {
    this.path = store.blobPath(layer.digest);
    this.files = new PartialFiles(this.path, layer.digest, layer.size);
    this.done = this.run();
    // Watchers see the failure; an unwatched rejection is not an unhandled one.
    this.done.catch(() => {});
  }

  /** Follows the download until it ends; a watcher that goes away stops it if it was the last. */
  async watch(signal: AbortSignal, onProgress: (p: BlobProgress) => void): Promise<void> {
    signal.throwIfAborted();
    this.watchers.add(onProgress);
    onProgress(this.progress());
    const timer = setInterval(() => onProgress(this.progress()), PROGRESS_EVERY_MS);
    let leave!: () => void;
    const left = new Promise<never>((_, reject) => {
      leave = () => reject(signal.reason);
      signal.addEventListener("abort", leave, { once: true });
    });
    try {
      await Promise.race([this.done, left]);
      onProgress({ ...this.progress(), completed: this.layer.size });
    } finally {
      clearInterval(timer);
      signal.removeEventListener("abort", leave);
      this.watchers.delete(onProgress);
      if (this.watchers.size === 0) this.abort.abort(new Error("no pull is waiting for this blob any more"));
    }
  }

  private progress(): BlobProgress {
    return { digest: this.layer.digest, total: this.layer.size, completed: this.parts.reduce((sum, p) => sum + p.completed, 0) };
  }

  private async run(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.parts = await this.files.parts();
    await checkFreeSpace(dirname(this.path), this.layer.size - this.progress().completed);
    const fd = openSync(this.files.data, constants.O_RDWR | constants.O_CREAT);
    const hasher = new OrderedHasher(fd, this.parts, this.layer.digest, this.gguf);
    const poller = setInterval(() => this.wake?.(), POLL_MS);
    const saver = setInterval(() => void this.files.save(this.parts).catch(() => {}), SAVE_MS);
    try {
      await this.files.save(this.parts);
      const source = await this.resolveSource();
      await Promise.all([this.downloadParts(source), this.verify(hasher)]);
      const digest = hasher.digest();
      if (digest !== this.layer.digest) throw new DigestMismatchError(`digest mismatch, file must be downloaded again: want ${this.layer.digest}, got ${digest}`);
    } catch (err) {
      // A part that failed leaves its siblings running: stop them before the file is closed.
      this.abort.abort(err);
      await Promise.allSettled(this.running);
      // Wrong bytes, or not a model Hearth can serve: nothing is kept for a later pull to resume.
      if (err instanceof InvalidRequestError || err instanceof DigestMismatchError) await this.files.removeAll();
      else await this.files.save(this.parts).catch(() => {});
      throw asDiskFull(err);
    } finally {
      clearInterval(poller);
      clearInterval(saver);
      closeSync(fd);
    }
    await rename(this.files.data, this.path);
    await this.files.removeAll();
  }

  /** Hashes the blob in order as its parts land; ends once every byte is hashed. */
  private async verify(hasher: OrderedHasher): Promise<void> {
    while (!hasher.complete()) {
      this.abort.signal.throwIfAborted();
      this.track();
      if (hasher.step()) await new Promise((resolve) => setImmediate(resolve));
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Reads how far each running part's descriptor has written. */
  private track(): void {
    for (const [part, writer] of this.writing) part.completed = Math.min(part.size, writer.position() - part.offset);
  }

  /**
   * Where the bytes come from: the registry answers the blob request with a redirect to a CDN
   * (asked without the registry's credentials) or with the blob itself.
   */
  private async resolveSource(): Promise<Source> {
    const url = this.client.url(`blobs/${this.layer.digest}`);
    const what = `pull blob ${this.layer.digest}`;
    let response = await this.client.check(await this.client.request("GET", url, { signal: this.abort.signal }), what);
    await response.body?.cancel();
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      const location = response.headers.get("location");
      if (!location || hops >= 10) throw new RegistryError(`${what}: a redirect without a usable location`, 502);
      const target = new URL(location, url);
      if (target.host !== this.client.base.host) return (init) => fetchOrFail(target, { ...init, redirect: "follow" });
      response = await this.client.check(await this.client.request("GET", target, { signal: this.abort.signal }), what);
      await response.body?.cancel();
    }
    return (init) => this.client.request("GET", url, init);
  }

  /**
   * The parts in order, a few at a time: enough connections in flight to fill a link that caps
   * each one, while the earliest parts finish first so the hash can follow close behind.
   */
  private async downloadParts(source: Source): Promise<void> {
    const queue = this.parts.filter((p) => p.completed < p.size);
    const worker = async () => {
      for (let part = queue.shift(); part; part = queue.shift()) {
        const task = this.fetchPart(source, part);
        this.running.push(task);
        await task;
      }
    };
    await Promise.all(Array.from({ length: canWriteAtOffsets() ? CONCURRENT_PARTS : 1 }, worker));
  }

  private async fetchPart(source: Source, part: Part): Promise<void> {
    for (let tries = 0, stalls = 0; part.completed < part.size; ) {
      this.abort.signal.throwIfAborted();
      try {
        await this.fetchRange(source, part);
      } catch (err) {
        if (this.abort.signal.aborted) throw this.abort.signal.reason;
        const full = asDiskFull(err);
        if (full instanceof DiskFullError) throw full;
        if (err instanceof StallError) {
          // A stall is not the part's fault (Ollama does not count it): asked for again, after a pause that grows.
          const wait = this.settings.backoffMs * 2 ** Math.min(stalls++, 4);
          console.warn(`hearth: ${this.layer.digest.slice(7, 19)} part at ${part.offset} stalled; retrying in ${wait} ms`);
          await Bun.sleep(wait);
          continue;
        }
        if (++tries >= MAX_TRIES) throw new RegistryError(`max retries exceeded: ${(err as Error).message}`, 502);
        const wait = this.settings.backoffMs * 2 ** (tries - 1);
        console.warn(`hearth: ${this.layer.digest.slice(7, 19)} part at ${part.offset} failed (${(err as Error).message}); retrying in ${wait} ms`);
        await Bun.sleep(wait);
      }
    }
    this.wake?.();
  }

  /**
   * One request for the rest of a part, streamed by Bun into the file at the part's position; a
   * watchdog drops the request when the position stops moving for the stall timeout.
   */
  private async fetchRange(source: Source, part: Part): Promise<void> {
    const start = part.offset + part.completed;
    const attempt = new AbortController();
    const stop = () => attempt.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener("abort", stop, { once: true });
    const writer = openPartWriter(this.files.data, start);
    this.writing.set(part, writer);
    let seen = start;
    let lastMove = Date.now();
    const watchdog = setInterval(() => {
      const now = writer.position();
      if (now > seen) [seen, lastMove] = [now, Date.now()];
      else if (Date.now() - lastMove > this.settings.stallMs) attempt.abort(new StallError("stalled"));
    }, Math.min(1000, this.settings.stallMs / 2));
    try {
      const response = await source({ headers: { range: `bytes=${start}-${part.offset + part.size - 1}` }, signal: attempt.signal });
      const whole = response.status === 200 && start === 0 && part.size === this.layer.size;
      const rangeStart = Number(/^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1]);
      if (!whole && !(response.status === 206 && rangeStart === start)) {
        await response.body?.cancel();
        throw new Error(`the blob server answered ${response.status} to a request for bytes ${start}-`);
      }
      await Bun.write(Bun.file(writer.fd), response);
    } catch (err) {
      throw attempt.signal.aborted ? attempt.signal.reason : err;
    } finally {
      clearInterval(watchdog);
      part.completed = Math.min(part.size, writer.position() - part.offset);
      this.writing.delete(part);
      writer.close();
      this.abort.signal.removeEventListener("abort", stop);
    }
    if (part.completed < part.size) throw new Error("the connection closed early");
  }
}
