import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readFile, rename, rm, statfs, writeFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { keepAliveMs } from "../engine/keep-alive.ts";
import { InvalidRequestError } from "../engine/types.ts";
import type { Layer, OllamaStore } from "../models/store.ts";
import { fetchOrFail, RegistryError, type RegistryClient } from "./client.ts";

/** Ollama's split: up to 16 parts fetched in parallel, each between these sizes. */
const PARTS = 16;
const MIN_PART = 16 * 1024 * 1024;
const MAX_PART = 1000 * 1000 * 1000;
/** Tries per part for errors (a stall is retried without counting); Ollama's maxRetries. */
const MAX_TRIES = 6;
/** How often the part table is saved while bytes arrive, and progress reported. */
const SAVE_EVERY_MS = 500;
const PROGRESS_EVERY_MS = 100;

export interface DownloadSettings {
  /** no bytes for this long and a part's request is dropped and made again */
  stallMs: number;
  /** first wait after a failed try; it doubles per try */
  backoffMs: number;
}

/**
 * Ollama's 30 s stall timeout, which HEARTH_PULL_STALL_TIMEOUT overrides (seconds, or a duration
 * such as "10s"), for links where 30 s of silence is normal or far too long.
 */
export function downloadSettingsFrom(env: Record<string, string | undefined>): DownloadSettings {
  const raw = env.HEARTH_PULL_STALL_TIMEOUT;
  const stallMs = raw ? keepAliveMs(raw) : 30_000;
  if (stallMs === undefined || !Number.isFinite(stallMs) || stallMs <= 0) throw new Error(`HEARTH_PULL_STALL_TIMEOUT must be a positive duration such as "30s", got "${raw}"`);
  return { stallMs, backoffMs: 1000 };
}

export interface BlobProgress {
  digest: string;
  total: number;
  completed: number;
}

export class DiskFullError extends RegistryError {
  constructor(message: string) {
    super(message, 507);
  }
}

class StallError extends Error {}

interface PartState {
  offset: number;
  size: number;
  completed: number;
}

/** What is saved beside the partial file, so a later pull continues where this one stopped. */
interface SavedState {
  digest: string;
  size: number;
  parts: PartState[];
}

/**
 * Downloads of blobs into a store: resumable (the partial file and its part table stay on disk
 * when a pull stops, however it stops), parallel (Range requests), verified (SHA-256, and the GGUF
 * magic for model layers) before the blob gets its name, and shared: concurrent pulls of one blob
 * watch one download, which stops only when nobody is watching any more.
 */
export class BlobDownloads {
  private active = new Map<string, BlobDownload>();

  constructor(private readonly settings: DownloadSettings) {}

  /** Resolves true when the blob was already there (Ollama's cache hit), false once downloaded. */
  async fetch(
    store: OllamaStore,
    client: RegistryClient,
    layer: Layer,
    options: { signal: AbortSignal; onProgress: (p: BlobProgress) => void; gguf: boolean },
  ): Promise<boolean> {
    if (await store.hasBlob(layer.digest)) {
      options.onProgress({ digest: layer.digest, total: layer.size, completed: layer.size });
      return true;
    }
    const key = store.blobPath(layer.digest);
    let download = this.active.get(key);
    if (!download) {
      download = new BlobDownload(store, client, layer, options.gguf, this.settings);
      this.active.set(key, download);
      const started = download;
      void started.done.then(
        () => this.active.delete(key),
        () => this.active.delete(key),
      );
    }
    return download.watch(options.signal, options.onProgress).then(() => false);
  }
}

class BlobDownload {
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private watchers = new Set<(p: BlobProgress) => void>();
  private completed = 0;
  private readonly path: string;

  constructor(
    private readonly store: OllamaStore,
    private readonly client: RegistryClient,
    private readonly layer: Layer,
    private readonly gguf: boolean,
    private readonly settings: DownloadSettings,
  ) {
    this.path = store.blobPath(layer.digest);
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
    return { digest: this.layer.digest, total: this.layer.size, completed: this.completed };
  }

  private async run(): Promise<void> {
    const partial = this.store.partialPath(this.layer.digest);
    const table = `${partial}.json`;
    const parts = (await savedParts(table, this.layer)) ?? splitIntoParts(this.layer.size);
    this.completed = parts.reduce((sum, p) => sum + p.completed, 0);
    await mkdir(dirname(partial), { recursive: true });
    await checkFreeSpace(dirname(partial), this.layer.size - this.completed);
    await writeFile(table, JSON.stringify({ digest: this.layer.digest, size: this.layer.size, parts } satisfies SavedState));
    const source = await this.resolveSource();
    const file = await open(partial, constants.O_RDWR | constants.O_CREAT);
    const hasher = new OrderedHasher(file, parts);
    const save = () => writeFile(table, JSON.stringify({ digest: this.layer.digest, size: this.layer.size, parts } satisfies SavedState));
    const saver = setInterval(() => void save().catch(() => {}), SAVE_EVERY_MS);
    try {
      await Promise.all(parts.map((part) => this.downloadPart(source, file, part, hasher)));
      await save();
      const digest = await hasher.finish();
      if (digest !== this.layer.digest) {
        await rm(partial, { force: true });
        await rm(table, { force: true });
        throw new RegistryError(`digest mismatch, file must be downloaded again: want ${this.layer.digest}, got ${digest}`, 502);
      }
    } catch (err) {
      // A part that failed leaves its siblings running: stop them before the file is closed.
      this.abort.abort(err);
      throw err;
    } finally {
      clearInterval(saver);
      // However the download stopped, the next pull continues from every byte written so far.
      await save().catch(() => {});
      await file.close();
      // What is not a model Hearth can serve is not kept for a later pull to resume.
      if (this.abort.signal.reason instanceof InvalidRequestError) await Promise.all([rm(partial, { force: true }), rm(table, { force: true })]);
    }
    await rename(partial, this.path);
    await rm(table, { force: true });
  }

  /**
   * Where the bytes come from: the registry answers the blob request with a redirect to a CDN
   * (asked without the registry's credentials) or with the blob itself.
   */
  private async resolveSource(): Promise<(init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>> {
    const url = this.client.url(`blobs/${this.layer.digest}`);
    let response = await this.client.check(await this.client.request("GET", url, { signal: this.abort.signal }), `pull blob ${this.layer.digest}`);
    await response.body?.cancel();
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      const location = response.headers.get("location");
      if (!location || hops >= 10) throw new RegistryError(`pull blob ${this.layer.digest}: a redirect without a usable location`, 502);
      const target = new URL(location, url);
      if (target.host === this.client.base.host) {
        response = await this.client.request("HEAD", target, { signal: this.abort.signal });
        continue;
      }
      return (init) => fetchOrFail(target, { ...init, redirect: "follow" });
    }
    return (init) => this.client.request("GET", url, init);
  }

  private async downloadPart(
    source: (init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>,
    file: FileHandle,
    part: PartState,
    hasher: OrderedHasher,
  ): Promise<void> {
    for (let tries = 0; part.completed < part.size; ) {
      this.abort.signal.throwIfAborted();
      try {
        await this.fetchRange(source, file, part, hasher);
      } catch (err) {
        if (this.abort.signal.aborted) throw this.abort.signal.reason;
        if (err instanceof DiskFullError || err instanceof InvalidRequestError || isDiskFull(err)) throw asDiskFull(err);
        if (err instanceof StallError) {
          console.warn(`hearth: ${this.layer.digest.slice(7, 19)} part at ${part.offset} stalled; retrying`);
          continue;
        }
        if (++tries >= MAX_TRIES) throw new RegistryError(`max retries exceeded: ${(err as Error).message}`, 502);
        const wait = this.settings.backoffMs * 2 ** (tries - 1);
        console.warn(`hearth: ${this.layer.digest.slice(7, 19)} part at ${part.offset} failed (${(err as Error).message}); retrying in ${wait} ms`);
        await Bun.sleep(wait);
      }
    }
  }

  /** One request for the rest of a part, written at its offset as it arrives. */
  private async fetchRange(
    source: (init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>,
    file: FileHandle,
    part: PartState,
    hasher: OrderedHasher,
  ): Promise<void> {
    const attempt = new AbortController();
    const stop = () => attempt.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener("abort", stop, { once: true });
    let lastByte = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastByte > this.settings.stallMs) attempt.abort(new StallError("stalled"));
    }, Math.min(1000, this.settings.stallMs / 2));
    try {
      const start = part.offset + part.completed;
      const end = part.offset + part.size - 1;
      const response = await source({ headers: { range: `bytes=${start}-${end}` }, signal: attempt.signal });
      if (response.status !== 206 && !(response.status === 200 && start === 0 && part.size === this.layer.size)) {
        await response.body?.cancel();
        throw new Error(`the blob server answered ${response.status} to a range request`);
      }
      const reader = response.body!.getReader();
      while (part.completed < part.size) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the connection closed early");
        lastByte = Date.now();
        const chunk = value.subarray(0, part.size - part.completed);
        const position = part.offset + part.completed;
        if (this.gguf && position === 0) this.checkMagic(chunk);
        await file.write(chunk, 0, chunk.byteLength, position);
        part.completed += chunk.byteLength;
        this.completed += chunk.byteLength;
        hasher.advance();
      }
      await reader.cancel().catch(() => {});
    } catch (err) {
      throw attempt.signal.aborted ? attempt.signal.reason : err;
    } finally {
      clearInterval(watchdog);
      this.abort.signal.removeEventListener("abort", stop);
    }
  }

  private checkMagic(chunk: Uint8Array): void {
    if (chunk.byteLength >= 4 && new TextDecoder("latin1").decode(chunk.subarray(0, 4)) !== "GGUF") {
      throw new InvalidRequestError(`the model layer ${this.layer.digest} is not a GGUF file: Hearth serves GGUF models only`, "model");
    }
  }
}

/**
 * Hashes the file in order while the parts arrive out of order: it reads (from the page cache)
 * whatever has become contiguous from the start, so little is left to hash once the last byte lands.
 */
class OrderedHasher {
  private hash: Hash = createHash("sha256");
  private hashed = 0;
  private running?: Promise<void>;
  private total: number;

  constructor(
    private readonly file: FileHandle,
    private readonly parts: PartState[],
  ) {
    this.total = parts.reduce((sum, p) => sum + p.size, 0);
  }

  advance(): void {
    this.running ??= this.catchUp().finally(() => (this.running = undefined));
  }

  async finish(): Promise<string> {
    while (this.running) await this.running;
    await this.catchUp();
    if (this.hashed !== this.total) throw new Error(`hashed ${this.hashed} of ${this.total} bytes`);
    return `sha256:${this.hash.digest("hex")}`;
  }

  /** Bytes from the start that every part before them has: the first incomplete part's completed prefix. */
  private contiguous(): number {
    let end = 0;
    for (const part of this.parts) {
      end = part.offset + part.completed;
      if (part.completed < part.size) break;
    }
    return end;
  }

  private async catchUp(): Promise<void> {
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let end = this.contiguous(); this.hashed < end; end = this.contiguous()) {
      const { bytesRead } = await this.file.read(buffer, 0, Math.min(buffer.byteLength, end - this.hashed), this.hashed);
      if (bytesRead === 0) throw new Error("the partial file is shorter than its part table says");
      this.hash.update(buffer.subarray(0, bytesRead));
      this.hashed += bytesRead;
    }
  }
}

function splitIntoParts(total: number): PartState[] {
  const size = Math.min(MAX_PART, Math.max(MIN_PART, Math.ceil(total / PARTS)));
  const parts: PartState[] = [];
  for (let offset = 0; offset < total; offset += size) parts.push({ offset, size: Math.min(size, total - offset), completed: 0 });
  return parts.length > 0 ? parts : [{ offset: 0, size: 0, completed: 0 }];
}

/** The part table a stopped download left, if it belongs to this blob and is sound. */
async function savedParts(table: string, layer: Layer): Promise<PartState[] | undefined> {
  try {
    const saved = JSON.parse(await readFile(table, "utf8")) as SavedState;
    const sound =
      saved.digest === layer.digest &&
      saved.size === layer.size &&
      Array.isArray(saved.parts) &&
      saved.parts.every((p) => Number.isSafeInteger(p.offset) && Number.isSafeInteger(p.size) && Number.isSafeInteger(p.completed) && p.completed >= 0 && p.completed <= p.size) &&
      saved.parts.reduce((sum, p) => sum + p.size, 0) === layer.size;
    return sound ? saved.parts : undefined;
  } catch {
    return undefined;
  }
}

/** Fails before the first byte when the disk cannot hold what is left to download. */
export async function checkFreeSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new DiskFullError(`not enough disk space in ${dir}: the download needs ${formatBytes(needed)} more, ${formatBytes(free)} is free`);
  }
}

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOSPC" || code === "EDQUOT";
}

function asDiskFull(err: unknown): unknown {
  return isDiskFull(err) ? new DiskFullError(`the disk is full: ${(err as Error).message}`) : err;
}

function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
