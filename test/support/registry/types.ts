/** Wire types of the registry protocol as Ollama uses it (Docker Registry HTTP API v2). */

export const MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
export const CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json";

/** Ollama's layer media types (server/images.go, GetModel). */
export const LAYER_MEDIA_TYPES = {
  model: "application/vnd.ollama.image.model",
  template: "application/vnd.ollama.image.template",
  system: "application/vnd.ollama.image.system",
  params: "application/vnd.ollama.image.params",
  license: "application/vnd.ollama.image.license",
  messages: "application/vnd.ollama.image.messages",
  projector: "application/vnd.ollama.image.projector",
  adapter: "application/vnd.ollama.image.adapter",
} as const;

export interface Layer {
  mediaType: string;
  digest: string;
  size: number;
  from?: string;
}

export interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: Layer;
  layers: Layer[];
}

/** Ollama's model.ConfigV2, the JSON held by the config blob. */
export interface ModelConfig {
  model_format: string;
  model_family: string;
  model_families: string[];
  model_type: string;
  file_type: string;
  architecture: string;
  os: string;
  rootfs: { type: string; diff_ids: string[] };
  [extra: string]: unknown;
}

/** Blob content: bytes, a UTF-8 string, or a file left in place (`digest` skips re-hashing it). */
export type BlobSource = Uint8Array | string | { path: string; digest?: string };

export interface BlobRef {
  digest: string;
  size: number;
}
