import { durationMs } from "../duration.ts";
import type { Layer, OllamaStore } from "../models/store.ts";
import { BlobDownload, type BlobProgress, type DownloadSettings } from "./blob-transfer.ts";
import type { RegistryClient } from "./client.ts";

/**
 * Ollama's 30 s stall timeout, which HEARTH_PULL_STALL_TIMEOUT overrides (seconds, or a duration
 * such as "10s"), for links where 30 s of silence is normal or far too long.
 */
export function downloadSettingsFrom(env: Record<string, string | undefined>): DownloadSettings {
  const raw = env.HEARTH_PULL_STALL_TIMEOUT;
  const stallMs = raw ? durationMs(raw.trim()) : 30_000;
  if (stallMs === undefined || !Number.isFinite(stallMs) || stallMs <= 0) throw new Error(`HEARTH_PULL_STALL_TIMEOUT must be a positive duration such as "30s", got "${raw}"`);
  return { stallMs, backoffMs: 1000 };
}

/**
 * The blob downloads of a server: resumable (what a stopped pull fetched stays on disk, however
 * it stopped), parallel, verified before the blob gets its name, and shared: concurrent pulls of
 * one blob watch one download, which stops only when nobody is watching any more.
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

