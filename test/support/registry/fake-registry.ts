/**
 * A fake Ollama registry for tests (there is no internet here): the Docker Registry HTTP API v2
 * as Ollama's server/download.go, upload.go and images.go speak it, on a local Bun.serve
 * (127.0.0.1), with blob GETs redirected to a "CDN" on another host name (localhost), bearer
 * auth, and fault switches for cut, stalled and corrupted transfers.
 *
 *   await using registry = await startFakeRegistry();
 *   await registry.addModel("library/tiny", "v1", { model: ggufPath, template: "{{ .Prompt }}" });
 *   // pull `${registry.host}/library/tiny:v1` (insecure: plain http)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore } from "./blob-store.ts";
import { startCdn, type Cdn } from "./cdn.ts";
import { defaultFaults, Stats, type Faults } from "./faults.ts";
import { ManifestStore } from "./manifests.ts";
import { buildModel, type ModelParts } from "./models.ts";
import { startRegistryServer } from "./registry-server.ts";
import type { RegistrySettings, RegistryState } from "./state.ts";
import type { BlobRef, BlobSource, Manifest } from "./types.ts";
import { Uploads } from "./uploads.ts";

export { bigBlobFile } from "./big-blob.ts";
export { sha256Bytes, sha256File } from "./blob-store.ts";
export type { Faults, RecordedRequest, StatusOverride, Stats } from "./faults.ts";
export type { ModelParts } from "./models.ts";
export type { RegistrySettings } from "./state.ts";
export * from "./types.ts";

export type FakeRegistryOptions = Partial<RegistrySettings>;

export class FakeRegistry {
  /** http://127.0.0.1:P */
  readonly url: string;
  /** 127.0.0.1:P, the host part of model names (`127.0.0.1:P/library/tiny:v1`). */
  readonly host: string;
  /** http://localhost:Q, where blob GETs redirect. */
  readonly cdnUrl: string;
  /** Temp dir holding stored and uploaded blobs; removed by stop(). */
  readonly dir: string;
  /** Mutable at runtime; read on every request. */
  readonly settings: RegistrySettings;
  /** Mutable at runtime; see Faults. */
  readonly faults: Faults;
  readonly stats: Stats;

  private constructor(
    private readonly state: RegistryState,
    dir: string,
    private readonly shutdown: () => Promise<void>,
  ) {
    this.url = state.url;
    this.host = new URL(state.url).host;
    this.cdnUrl = state.cdnUrl;
    this.dir = dir;
    this.settings = state.settings;
    this.faults = state.faults;
    this.stats = state.stats;
  }

  static async start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
    const dir = await mkdtemp(join(tmpdir(), "fake-registry-"));
    const store = new BlobStore(dir);
    await store.init();
    const stats = new Stats();
    const abortStalls = new AbortController();
    const state: RegistryState = {
      settings: { redirectBlobs: true, uploadLocation: "absolute", ...options },
      store,
      uploads: new Uploads(dir, store, stats),
      manifests: new ManifestStore(),
      faults: defaultFaults(),
      stats,
      url: "",
      cdnUrl: "",
      signingKey: crypto.randomUUID(),
      stopping: abortStalls.signal,
    };
    const cdn: Cdn = await startCdn(state);
    state.cdnUrl = cdn.url;
    const server = startRegistryServer(state);
    state.url = `http://127.0.0.1:${server.port}`;
    return new FakeRegistry(state, dir, async () => {
      abortStalls.abort();
      await server.stop(true);
      await cdn.stop();
      await rm(dir, { recursive: true, force: true });
    });
  }

  addBlob(source: BlobSource): Promise<BlobRef> {
    return this.state.store.add(source);
  }

  /** Builds and stores `name:tag` (`tiny` means `library/tiny`) from its parts; returns the manifest. */
  async addModel(name: string, tag: string, parts: ModelParts): Promise<Manifest> {
    const raw = await buildModel(this.state.store, parts);
    this.state.manifests.put(repository(name), tag, raw);
    return JSON.parse(raw);
  }

  /** The stored (or pushed) manifest, parsed; `undefined` if none. */
  manifest(name: string, tag: string): Manifest | undefined {
    const raw = this.rawManifest(name, tag);
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  /** The stored manifest's exact bytes, whose sha256 is its digest. */
  rawManifest(name: string, tag: string): string | undefined {
    return this.state.manifests.get(repository(name), tag)?.raw;
  }

  hasBlob(digest: string): boolean {
    return this.state.store.get(digest) !== undefined;
  }

  /** Where the blob's bytes are on disk (a pushed blob's, to compare with what was sent). */
  blobPath(digest: string): string | undefined {
    return this.state.store.get(digest)?.path;
  }

  /** Forgets a blob, e.g. to make a manifest's layer 404. */
  removeBlob(digest: string): Promise<void> {
    return this.state.store.remove(digest);
  }

  /** Clears the counters and disarms every fault (stored blobs and manifests stay). */
  reset(): void {
    this.stats.reset();
    for (const key of Object.keys(this.faults)) delete (this.faults as unknown as Record<string, unknown>)[key];
    Object.assign(this.faults, defaultFaults());
  }

  /** Closes both servers (open connections too) and deletes the temp dir. */
  stop(): Promise<void> {
    return this.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  return FakeRegistry.start(options);
}

function repository(name: string): string {
  return (name.includes("/") ? name : `library/${name}`).toLowerCase();
}
