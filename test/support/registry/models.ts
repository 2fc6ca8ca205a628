/** Builds an Ollama-style model (layer blobs, config blob, manifest) the way `ollama create` lays it out. */
import type { BlobStore } from "./blob-store.ts";
import { CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPES, MANIFEST_MEDIA_TYPE, type BlobSource, type Layer, type Manifest, type ModelConfig } from "./types.ts";

export interface ModelParts {
  /** The GGUF weights: bytes or a file path (left in place, streamed when served). */
  model: BlobSource | string;
  template?: string;
  system?: string;
  /** Stored as JSON, like Ollama's params layer (`{"stop":[...],"temperature":0.7}`). */
  params?: Record<string, unknown>;
  /** One license layer per entry. */
  license?: string | string[];
  messages?: Array<{ role: string; content: string }>;
  projector?: BlobSource;
  adapter?: BlobSource;
  extraLayers?: Array<{ mediaType: string; data: BlobSource }>;
  /** Overrides of the config blob's fields. */
  config?: Partial<ModelConfig>;
}

/** Adds the blobs to the store and returns the manifest's JSON as Ollama serializes it. */
export async function buildModel(store: BlobStore, parts: ModelParts): Promise<string> {
  const layers: Layer[] = [];
  const add = async (mediaType: string, data: BlobSource) => layers.push({ mediaType, ...(await store.add(data)) });

  // A string `model` is a path: GGUF weights are never text.
  await add(LAYER_MEDIA_TYPES.model, typeof parts.model === "string" ? { path: parts.model } : parts.model);
  if (parts.projector !== undefined) await add(LAYER_MEDIA_TYPES.projector, parts.projector);
  if (parts.adapter !== undefined) await add(LAYER_MEDIA_TYPES.adapter, parts.adapter);
  if (parts.template !== undefined) await add(LAYER_MEDIA_TYPES.template, parts.template);
  if (parts.system !== undefined) await add(LAYER_MEDIA_TYPES.system, parts.system);
  if (parts.params !== undefined) await add(LAYER_MEDIA_TYPES.params, JSON.stringify(parts.params));
  if (parts.messages !== undefined) await add(LAYER_MEDIA_TYPES.messages, JSON.stringify(parts.messages));
  for (const license of [parts.license ?? []].flat()) await add(LAYER_MEDIA_TYPES.license, license);
  for (const extra of parts.extraLayers ?? []) await add(extra.mediaType, extra.data);

  const family = parts.config?.model_family ?? "llama";
  const config: ModelConfig = {
    model_format: "gguf",
    model_family: family,
    model_families: [family],
    model_type: "1M",
    file_type: "F16",
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    ...parts.config,
  };
  const configRef = await store.add(JSON.stringify(config));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: { mediaType: CONFIG_MEDIA_TYPE, ...configRef },
    layers,
  };
  return JSON.stringify(manifest);
}
