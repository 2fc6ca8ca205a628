import { stat } from "node:fs/promises";
import { MEDIA_TYPES, type Layer, type Manifest, type OllamaStore } from "./store.ts";

export interface StoredMessage {
  role: string;
  content: string;
}

/** What a manifest holds beside the weights: Ollama's Modelfile layers, read once per version of the manifest. */
export interface ModelConfigLayers {
  manifest: Manifest;
  /** SHA-256 of the manifest (hex): the digest Ollama lists a model by */
  digest: string;
  /** bytes of every layer and the config together, as Ollama reports a model's size */
  totalSize: number;
  /** Ollama's Go template: shown by /api/show, not used to format chats (the GGUF's Jinja template is) */
  template?: string;
  /** the default system prompt */
  system?: string;
  /** default options in Ollama's names (temperature, stop, num_ctx, …); a request's own options win */
  parameters?: Record<string, unknown>;
  license?: string[];
  /** a conversation placed before every chat's messages (Modelfile MESSAGE) */
  messages?: StoredMessage[];
}

/** Reads a manifest and its small layers; `weights` is the model layer's blob, which must exist. */
export async function readStoredModel(store: OllamaStore, manifestPath: string): Promise<{ stored: ModelConfigLayers; weights: string }> {
  const { manifest, digest } = await store.readManifest(manifestPath);
  const model = manifest.layers.find((l) => l.mediaType === MEDIA_TYPES.model);
  if (!model) throw new Error("the manifest has no model layer");
  const weights = store.blobPath(model.digest);
  if (!(await stat(weights).catch(() => undefined))) throw new Error(`its model layer ${model.digest} is missing from ${store.blobsDir}`);
  const text = async (layer: Layer | undefined) => (layer ? store.readLayerText(layer) : undefined);
  const json = async <T>(layer: Layer | undefined, check: (v: unknown) => v is T): Promise<T | undefined> => {
    const raw = await text(layer);
    if (raw === undefined) return undefined;
    const value: unknown = JSON.parse(raw);
    if (!check(value)) throw new Error(`its ${layer!.mediaType} layer is not in Ollama's shape`);
    return value;
  };
  const last = (type: string) => manifest.layers.findLast((l) => l.mediaType === type);
  const licenses = manifest.layers.filter((l) => l.mediaType === MEDIA_TYPES.license);
  return {
    weights,
    stored: {
      manifest,
      digest,
      totalSize: [manifest.config, ...manifest.layers].reduce((sum, l) => sum + (l?.size ?? 0), 0),
      template: await text(last(MEDIA_TYPES.template)),
      system: await text(last(MEDIA_TYPES.system)),
      parameters: await json(last(MEDIA_TYPES.params), isObject),
      license: licenses.length > 0 ? await Promise.all(licenses.map((l) => store.readLayerText(l))) : undefined,
      messages: await json(last(MEDIA_TYPES.messages), isMessageList),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isMessageList(v: unknown): v is StoredMessage[] {
  return Array.isArray(v) && v.every((m) => isObject(m) && typeof m.role === "string" && typeof m.content === "string");
}
