import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { GgufFileType, readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { canonicalModelName, modelNameForPath } from "./naming.ts";
import { deriveCapabilities, type Capability } from "./capabilities.ts";
import { FileDigests } from "./digest.ts";

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
}

export class ModelNotFoundError extends Error {
  constructor(readonly model: string) {
    super(`model "${model}" not found`);
  }
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
  private digests = new FileDigests();

  constructor(readonly dir: string) {}

  async list(): Promise<ModelInfo[]> {
    const files = await findGgufFiles(this.dir);
    const infos = await Promise.all(files.map((f) => this.describe(f)));
    return infos.filter((i): i is ModelInfo => i !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(requested: string): Promise<ModelInfo> {
    const name = canonicalModelName(requested);
    const found = (await this.list()).find((m) => m.name === name);
    if (!found) throw new ModelNotFoundError(requested);
    return found;
  }

  /** The file's SHA-256 (hex), hashed once per version of the file. */
  digest(model: ModelInfo): Promise<string> {
    return this.digests.digest(model.path, model.sizeBytes, model.modifiedAt.getTime());
  }

  private async describe(path: string): Promise<ModelInfo | undefined> {
    const st = await stat(path).catch(() => undefined);
    if (!st) return undefined;
    const cached = this.cache.get(path);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.info;
    let info: ModelInfo | undefined;
    try {
      const file = await readGgufFileInfo(path, {
        logWarnings: false,
        ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"],
      });
      info = toModelInfo(modelNameForPath(this.dir, path), path, st.size, st.mtime, file);
    } catch (err) {
      console.warn(`hearth: skipping ${path}: ${(err as Error).message}`);
    }
    this.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, info });
    return info;
  }
}

async function findGgufFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  // Symlinked models count too: people link files from a shared download folder.
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.toLowerCase().endsWith(".gguf"))
    .map((e) => join(e.parentPath, e.name));
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
    capabilities: deriveCapabilities({ architecture: arch, chatTemplate, metadata: file.metadata }),
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
