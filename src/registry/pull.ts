import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { InvalidRequestError } from "../errors.ts";
import { parseOllamaName } from "../models/ollama-name.ts";
import { checkDigest, MEDIA_TYPES, parseManifest, type Layer, type Manifest, type OllamaStore } from "../models/store.ts";
import type { BlobDownloads } from "./blob-download.ts";
import { PartialFiles } from "./blob-parts.ts";
import { checkFreeSpace } from "./disk.ts";
import { RegistryClient, RegistryError, type RegistryOptions, type TransferStatus } from "./client.ts";

export interface PullOptions extends RegistryOptions {
  signal: AbortSignal;
  /** called once the request is known to be sound: the first status line may only come after */
  onStatus: (status: TransferStatus) => void;
}

/**
 * Ollama's PullModel: the manifest, then each layer's blob (shared, resumable downloads), then the
 * manifest written into the store last and atomically, so the model appears whole or not at all;
 * layers only the replaced manifest used are removed. `field` names the request field in errors.
 */
export async function pullModel(store: OllamaStore, downloads: BlobDownloads, rawName: string, options: PullOptions, field = "model"): Promise<void> {
  const name = parseOllamaName(rawName, field);
  const client = new RegistryClient(name, options);
  const previous = await store.find(name);
  const replaced = previous ? await store.readManifest(previous.path).then((r) => layersOf(r.manifest).map((l) => l.digest), () => []) : [];
  const emit = options.onStatus;

  emit({ status: "pulling manifest" });
  const url = client.url(`manifests/${name.tag}`);
  const response = await client.check(await client.request("GET", url, { headers: { accept: MEDIA_TYPES.manifest }, signal: options.signal }), "pull model manifest");
  const text = await response.text();
  let manifest: Manifest;
  try {
    manifest = parseManifest(text, `the manifest of ${rawName}`);
  } catch (err) {
    throw new RegistryError(`pull model manifest: ${(err as Error).message}`, 502);
  }
  const layers = layersOf(manifest);
  for (const layer of layers) checkDigest(layer.digest, "manifest layer digest");
  if (!manifest.layers.some((l) => l.mediaType === MEDIA_TYPES.model)) {
    throw new InvalidRequestError(`${rawName} has no GGUF model layer (${MEDIA_TYPES.model}): Hearth serves GGUF models only`, field);
  }

  // What an interrupted pull already fetched does not need room again.
  const missing = await Promise.all(
    unique(layers).map(async (l) => ((await store.hasBlob(l.digest)) ? 0 : l.size - (await new PartialFiles(store.blobPath(l.digest), l.digest, l.size).parts()).reduce((sum, p) => sum + p.completed, 0))),
  );
  await checkFreeSpace(await existingParent(store.root), missing.reduce((a, b) => a + b, 0));

  for (const layer of unique(layers)) {
    await downloads.fetch(store, client, layer, {
      signal: options.signal,
      gguf: layer.mediaType === MEDIA_TYPES.model,
      onProgress: (p) => emit({ status: `pulling ${p.digest.slice(7, 19)}`, digest: p.digest, total: p.total, completed: p.completed }),
    });
  }

  // Each blob was hashed before it got its name; what is left to check is that they are all still there.
  emit({ status: "verifying sha256 digest" });
  for (const layer of layers) {
    if (!(await store.hasBlob(layer.digest))) throw new RegistryError(`blob ${layer.digest} vanished before the manifest was written`, 500);
  }

  emit({ status: "writing manifest" });
  await store.writeManifest(name, text);

  const kept = new Set(layers.map((l) => l.digest));
  const unused = replaced.filter((d) => !kept.has(d));
  if (unused.length > 0) {
    emit({ status: "removing unused layers" });
    await store.removeUnusedBlobs(unused);
  }
  emit({ status: "success" });
}

function layersOf(manifest: Manifest): Layer[] {
  return manifest.config?.digest ? [...manifest.layers, manifest.config] : manifest.layers;
}

function unique(layers: Layer[]): Layer[] {
  const seen = new Set<string>();
  return layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
}

/** statfs needs a folder that exists: the store's, or the nearest one above it. */
async function existingParent(dir: string): Promise<string> {
  for (let d = dir; ; d = dirname(d)) {
    if ((await stat(d).catch(() => undefined))?.isDirectory() || d === dirname(d)) return d;
  }
}
