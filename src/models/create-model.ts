import { realpath } from "node:fs/promises";
import type { ModelCatalog, ModelInfo } from "./catalog.ts";
import { goJson, modelConfig, type ConfigExtras, type WeightsFacts } from "./model-config.ts";
import { displayName, type OllamaName } from "./ollama-name.ts";
import type { StoredMessage } from "./stored-model.ts";
import { MEDIA_TYPES, type Layer, type OllamaStore } from "./store.ts";
import type { UploadedGguf } from "./uploaded-files.ts";

/** What POST /api/create builds, its input already checked. */
export interface CreateSpec {
  name: OllamaName;
  /** the model to build on (`from`): its weights and, unless overridden, its other layers */
  base: { kind: "model"; model: ModelInfo } | { kind: "files"; model: UploadedGguf };
  /** what the config blob says about the base's weights */
  weights: WeightsFacts;
  template?: string;
  system?: string;
  license?: string[];
  /** checked against Ollama's parameter list; null unsets an inherited value */
  parameters?: Record<string, unknown>;
  messages?: StoredMessage[];
  config: ConfigExtras;
}

export interface CreateStatus {
  status: string;
}

/** A layer of the new manifest and the status line Ollama reports for it. */
interface Placed {
  layer: Layer;
  status: string;
}

/**
 * Ollama's CreateHandler and createModel: the base model's layers (reused, never copied), then a
 * new template and system layer replacing inherited ones, license layers added, parameters merged
 * over the inherited ones (the request's win), messages replacing inherited ones; a config blob;
 * each layer's "using existing layer"/"creating new layer" line; the manifest, written last and
 * atomically; then the blobs only the replaced manifest of that name used are removed.
 */
export async function createModel(catalog: ModelCatalog, spec: CreateSpec, emit: (status: CreateStatus) => void): Promise<void> {
  const store = catalog.store;
  const previous = await store.find(spec.name);
  const replaced = previous ? await store.readManifest(previous.path).then(({ manifest }) => [manifest.config, ...manifest.layers].filter((l) => l !== undefined).map((l) => l.digest), () => []) : [];

  let placed = await baseLayers(catalog, spec, emit);
  const inheritedConfig = spec.base.kind === "model" ? await baseConfig(spec.base.model) : {};

  const add = async (text: string, mediaType: string) => {
    const blob = await store.writeBlob(text, mediaType);
    placed.push({ layer: { mediaType, digest: blob.digest, size: blob.size }, status: `${blob.existed ? "using existing layer" : "creating new layer"} ${blob.digest}` });
  };
  const without = (mediaType: string) => (placed = placed.filter((p) => p.layer.mediaType !== mediaType));

  if (spec.template) {
    without(MEDIA_TYPES.template);
    await add(spec.template, MEDIA_TYPES.template);
  }
  if (spec.system) {
    without(MEDIA_TYPES.system);
    await add(spec.system, MEDIA_TYPES.system);
  }
  for (const license of spec.license ?? []) if (license) await add(license, MEDIA_TYPES.license);
  const parameters = await mergedParameters(store, placed, spec.parameters);
  if (parameters) {
    without(MEDIA_TYPES.params);
    if (Object.keys(parameters).length > 0) await add(goJson(parameters), MEDIA_TYPES.params);
  }
  if (spec.messages && spec.messages.length > 0) {
    without(MEDIA_TYPES.messages);
    await add(goJson(spec.messages.map((m) => ({ role: m.role, content: m.content }))), MEDIA_TYPES.messages);
  }

  const layers = placed.map((p) => p.layer);
  const config = modelConfig(spec.weights, { ...inheritedConfig, ...dropEmpty(spec.config) }, layers);
  const configBlob = await store.writeBlob(config, MEDIA_TYPES.config);
  for (const p of placed) emit({ status: p.status });

  emit({ status: "writing manifest" });
  const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: { mediaType: MEDIA_TYPES.config, digest: configBlob.digest, size: configBlob.size }, layers };
  await store.writeManifest(spec.name, goJson(manifest));
  await store.removeUnusedBlobs(replaced);
  emit({ status: "success" });
}

/**
 * The base model's layers in Hearth's store. A stored model's are reused as they are (linked in
 * from Ollama's read-only store), each marked `from` it as Ollama marks them; a plain GGUF file in
 * the models folder is hashed and linked into the blobs, so its weights are never copied.
 */
async function baseLayers(catalog: ModelCatalog, spec: CreateSpec, emit: (status: CreateStatus) => void): Promise<Placed[]> {
  const store = catalog.store;
  const base = spec.base;
  if (base.kind === "files") {
    emit({ status: "parsing GGUF" });
    const { digest, size, fileName } = base.model;
    return [{ layer: { mediaType: MEDIA_TYPES.model, digest, size, from: fileName }, status: `using existing layer ${digest}` }];
  }
  const model = base.model;
  if (model.stored) {
    const from = displayName(model.stored.name);
    const layers = model.stored.manifest.layers;
    await store.adoptBlobs(model.stored.store, layers);
    return layers.map((l) => ({ layer: { mediaType: l.mediaType, digest: l.digest, size: l.size, from }, status: `using existing layer ${l.digest}` }));
  }
  emit({ status: "parsing GGUF" });
  const digest = `sha256:${await catalog.digest(model)}`;
  // Linked by the file's real path: a link to a symlink would break when the symlink moves.
  const created = await store.linkBlob(await realpath(model.path), digest);
  return [{ layer: { mediaType: MEDIA_TYPES.model, digest, size: model.sizeBytes, from: model.name }, status: `${created ? "creating new layer" : "using existing layer"} ${digest}` }];
}

/**
 * Ollama's setParameters: every inherited params layer's values under the request's, or undefined
 * when there is neither (the layers stay as they are). Nulls unset a value and are not written.
 */
async function mergedParameters(store: OllamaStore, placed: Placed[], requested: Record<string, unknown> | undefined): Promise<Record<string, unknown> | undefined> {
  const merged: Record<string, unknown> = { ...requested };
  let any = requested !== undefined && Object.keys(requested).length > 0;
  for (const { layer } of placed.filter((p) => p.layer.mediaType === MEDIA_TYPES.params)) {
    any = true;
    const inherited = JSON.parse(await store.readLayerText(layer)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(inherited)) if (!(key in merged)) merged[key] = value;
  }
  if (!any) return undefined;
  // Go writes a map's keys sorted.
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The renderer, parser and requires of the base model's config, which Ollama carries over. */
async function baseConfig(model: ModelInfo): Promise<ConfigExtras> {
  const config = model.stored?.manifest.config;
  if (!model.stored || !config) return {};
  try {
    const value = JSON.parse(await model.stored.store.readLayerText(config)) as Record<string, unknown>;
    const text = (key: string) => (typeof value[key] === "string" && value[key] ? (value[key] as string) : undefined);
    return dropEmpty({ renderer: text("renderer"), parser: text("parser"), requires: text("requires") });
  } catch {
    // A config that is missing or not JSON has nothing to carry over.
    return {};
  }
}

function dropEmpty(extras: ConfigExtras): ConfigExtras {
  return Object.fromEntries(Object.entries(extras).filter(([, v]) => v)) as ConfigExtras;
}
