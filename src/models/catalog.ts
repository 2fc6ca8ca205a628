import { readdir, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { GgufFileType, readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { ModelNotFoundError } from "../errors.ts";
import { canonicalModelName, modelNameForPath } from "./naming.ts";
import { deriveCapabilities, type Capability } from "./capabilities.ts";
import { FileDigests } from "./digest.ts";
import type { InstructPair } from "./instruct-pairs.ts";
import { displayName, parseOllamaName, sameName, type OllamaName } from "./ollama-name.ts";
import { readStoredModel, type ModelConfigLayers } from "./stored-model.ts";
import { OllamaStore, type StoredManifest } from "./store.ts";

export interface ModelInfo {
  name: string;
  path: string;
  sizeBytes: number;
  modifiedAt: Date;
  architecture: string;
  parameterCount: number;
  quantization: string;
  contextLength: number;
  chatTemplate?: string;
  capabilities: Capability[];
  /** every GGUF key/value except large token arrays, for /api/show-style introspection */
  metadata: GgufFileInfo["metadata"];
  /** set for a model pulled or created into an Ollama-layout store: its manifest and the layers beside the weights */
  stored?: StoredModel;
}

/** A model that is a manifest in an Ollama-layout store rather than a plain GGUF file. */
export interface StoredModel extends ModelConfigLayers {
  store: OllamaStore;
  name: OllamaName;
  manifestPath: string;
  /** SHA-256 of the manifest (hex): the digest Ollama lists a model by */
  digest: string;
}

interface CacheEntry {
  mtimeMs: number;
  size: number;
  /** undefined: the file is not a readable GGUF (warned about once, retried when it changes) */
  info?: ModelInfo;
}

/**
 * Every *.gguf under the models folder is a model. Headers are read with node-llama-cpp
 * (no weights loaded) and cached by mtime and size, so listing stays cheap while files
 * dropped into the folder appear without a restart.
 */
export class ModelCatalog {
  private cache = new Map<string, CacheEntry>();
  private manifests = new Map<string, { mtimeMs: number; size: number; stored?: Omit<StoredModel, "store" | "name" | "manifestPath">; weights?: string }>();
  private digests = new FileDigests();
  /** the store Hearth pulls and creates models into, inside the models folder */
  readonly store: OllamaStore;
  /** every store models are served from: Hearth's own first, then an Ollama installation's (read-only) */
  readonly stores: OllamaStore[];
  private readonly instructPairs: InstructPair[];
  /** pairs whose instruct model was missing, warned about once each */
  private readonly warnedPairs = new Set<InstructPair>();

  constructor(
    readonly dir: string,
    options: { ollamaModels?: string; instructModels?: InstructPair[] } = {},
  ) {
    this.instructPairs = options.instructModels ?? [];
    this.store = new OllamaStore(dir, true);
    this.stores = [this.store, ...(options.ollamaModels && resolve(options.ollamaModels) !== resolve(dir) ? [new OllamaStore(options.ollamaModels, false)] : [])];
  }

  /**
   * Plain GGUF files first, then the stores' models; a name already taken by a file (or by Hearth's
   * own store, over Ollama's) is served by the first, so each listed name is one model.
   */
  async list(): Promise<ModelInfo[]> {
    const files = await findGgufFiles(this.dir, [this.store.manifestsDir, this.store.blobsDir]);
    const infos = (await Promise.all(files.map((f) => this.describe(f)))).filter((i): i is ModelInfo => i !== undefined);
    const taken = new Set(infos.map((i) => i.name.toLowerCase()));
    for (const store of this.stores) {
      for (const entry of await store.list()) {
        const info = await this.describeStored(store, entry);
        const key = info?.name.toLowerCase();
        if (!info || taken.has(key!)) continue;
        taken.add(key!);
        infos.push(info);
      }
    }
    return infos.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A file model by its exact name, else a stored model by Ollama's rules (defaults filled in, any letter case). */
  async get(requested: string): Promise<ModelInfo> {
    const models = await this.list();
    const name = canonicalModelName(requested);
    const file = models.find((m) => !m.stored && m.name === name);
    if (file) return file;
    let wanted: OllamaName;
    try {
      wanted = parseOllamaName(requested);
    } catch {
      throw new ModelNotFoundError(requested);
    }
    const stored = models.find((m) => m.stored && sameName(m.stored.name, wanted));
    if (!stored) throw new ModelNotFoundError(requested);
    return stored;
  }

  /**
   * The instruct model paired with a reasoning model (`--instruct-model`) and the name it was paired
   * by, or undefined when it has none. Names are resolved on each call, since models come and go;
   * a pair whose instruct model is missing is skipped with a warning, so the reasoning model
   * answers with thinking off, as it would without the pair.
   */
  async instructFor(model: ModelInfo): Promise<{ info: ModelInfo; name: string } | undefined> {
    for (const pair of this.instructPairs) {
      const thinking = await this.get(pair.thinking).catch(orNotFound);
      if (thinking?.name !== model.name) continue;
      const instruct = await this.get(pair.instruct).catch(orNotFound);
      if (instruct) return { info: instruct, name: pair.instruct };
      if (!this.warnedPairs.has(pair)) {
        this.warnedPairs.add(pair);
        console.warn(`hearth: --instruct-model ${pair.thinking}=${pair.instruct}: model "${pair.instruct}" not found; "${pair.thinking}" answers with thinking off`);
      }
    }
    return undefined;
  }

  /** Ollama's digest of a model: its manifest's SHA-256, or for a plain file the file's, hashed once per version. */
  digest(model: ModelInfo): Promise<string> {
    if (model.stored) return Promise.resolve(model.stored.digest);
    return this.digests.digest(model.path, model.sizeBytes, model.modifiedAt.getTime());
  }

  private async describe(path: string): Promise<ModelInfo | undefined> {
    const st = await stat(path).catch(() => undefined);
    if (!st) return undefined;
    const cached = this.cache.get(path);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.info;
    let info: ModelInfo | undefined;
    try {
      const file = await readGguf(path);
      info = toModelInfo(modelNameForPath(this.dir, path), path, st.size, st.mtime, file);
    } catch (err) {
      console.warn(`hearth: skipping ${path}: ${(err as Error).message}`);
    }
    this.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, info });
    return info;
  }

  /** A manifest's model: the GGUF header of its model layer, and its template, system, params, license and messages layers. */
  private async describeStored(store: OllamaStore, entry: StoredManifest): Promise<ModelInfo | undefined> {
    const st = await stat(entry.path).catch(() => undefined);
    if (!st) return undefined;
    let cached = this.manifests.get(entry.path);
    if (!cached || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size) {
      cached = { mtimeMs: st.mtimeMs, size: st.size };
      try {
        const read = await readStoredModel(store, entry.path);
        cached.stored = read.stored;
        cached.weights = read.weights;
      } catch (err) {
        console.warn(`hearth: skipping ${entry.path}: ${(err as Error).message}`);
      }
      this.manifests.set(entry.path, cached);
    }
    if (!cached.stored || !cached.weights) return undefined;
    const weights = await this.describe(cached.weights);
    if (!weights) return undefined;
    const name = canonicalModelName(displayName(entry.name));
    return {
      ...weights,
      name,
      sizeBytes: cached.stored.totalSize,
      modifiedAt: entry.modifiedAt,
      stored: { ...cached.stored, store, name: entry.name, manifestPath: entry.path },
    };
  }
}

function orNotFound(err: unknown): undefined {
  if (err instanceof ModelNotFoundError) return undefined;
  throw err;
}

function readGguf(path: string): Promise<GgufFileInfo> {
  return readGgufFileInfo(path, {
    logWarnings: false,
    ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"],
  });
}

/** Every *.gguf under dir, outside the store's own folders (whose blobs have no extension anyway). */
async function findGgufFiles(dir: string, skip: string[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const skipped = skip.map((s) => resolve(s) + sep);
  // Symlinked models count too: people link files from a shared download folder.
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.toLowerCase().endsWith(".gguf"))
    .map((e) => join(e.parentPath, e.name))
    .filter((path) => !skipped.some((s) => resolve(path).startsWith(s)));
}

function toModelInfo(name: string, path: string, sizeBytes: number, modifiedAt: Date, file: GgufFileInfo): ModelInfo {
  const general = file.metadata.general;
  const arch = String(general.architecture);
  const archMeta = file.architectureMetadata as Record<string, unknown>;
  const chatTemplate = file.metadata.tokenizer?.chat_template;
  return {
    name,
    path,
    sizeBytes,
    modifiedAt,
    architecture: arch,
    parameterCount: countParameters(file),
    quantization: quantizationName(general.file_type),
    contextLength: Number(archMeta.context_length ?? 0),
    chatTemplate,
    capabilities: deriveCapabilities({ architecture: arch, chatTemplate, metadata: file.metadata, tensors: file.tensorInfo }),
    metadata: file.metadata,
  };
}

function countParameters(file: GgufFileInfo): number {
  let total = 0;
  for (const tensor of file.tensorInfo ?? []) total += tensor.dimensions.reduce<number>((p, d) => p * Number(d), 1);
  return total;
}

function quantizationName(fileType: GgufFileType | undefined): string {
  if (fileType === undefined) return "unknown";
  return (GgufFileType[fileType] ?? "unknown").replace(/^(MOSTLY|ALL)_/, "");
}
