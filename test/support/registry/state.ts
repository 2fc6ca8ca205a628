/** What the registry server and the CDN server share. */
import type { BlobStore } from "./blob-store.ts";
import type { Faults, Stats } from "./faults.ts";
import type { ManifestStore } from "./manifests.ts";
import type { Uploads } from "./uploads.ts";

export interface RegistrySettings {
  /** Blob GETs answer 307 to the CDN (true) or the blob itself (false). */
  redirectBlobs: boolean;
  /** Upload Location headers as absolute URLs on the registry host, or as paths. */
  uploadLocation: "absolute" | "relative";
  /** Bearer token every /v2/ request must carry; no auth when absent. */
  token?: string;
  /** Basic credentials the /token endpoint requires; anonymous when absent. */
  tokenEndpoint?: { username: string; password: string };
}

export interface RegistryState {
  settings: RegistrySettings;
  store: BlobStore;
  uploads: Uploads;
  manifests: ManifestStore;
  faults: Faults;
  stats: Stats;
  /** http://127.0.0.1:P, known once the registry listens. */
  url: string;
  /** http://localhost:Q, known once the CDN listens. */
  cdnUrl: string;
  /** A secret the CDN checks its URLs' signatures with, so a client must keep the query string. */
  signingKey: string;
  /** Aborted by stop(): ends stalled responses that no client gave up on. */
  stopping: AbortSignal;
}

/** Resolves when any of the signals aborts. */
export function untilAborted(...signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve();
    for (const s of signals) s.addEventListener("abort", () => resolve(), { once: true });
  });
}
