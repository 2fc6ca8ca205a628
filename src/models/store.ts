import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { InvalidRequestError } from "../errors.ts";
import { parseOllamaName, sameName, type OllamaName } from "./ollama-name.ts";

/** The media types of Ollama's manifests and layers (Docker's manifest v2 with Ollama's layer kinds). */
export const MEDIA_TYPES = {
  manifest: "application/vnd.docker.distribution.manifest.v2+json",
  config: "application/vnd.docker.container.image.v1+json",
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

/** One manifest found in a store: the model it names and where its file is. */
export interface StoredManifest {
  name: OllamaName;
  path: string;
  modifiedAt: Date;
}

const DIGEST = /^sha256[:-]([0-9a-f]{64})$/;

/** "sha256:<64 hex>" (or Ollama's file spelling "sha256-…"), normalized to the colon form; anything else is a 400. */
export function checkDigest(digest: string, field = "digest"): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new InvalidRequestError(`invalid ${field} "${digest}": expected "sha256:" and 64 lowercase hex digits`, field);
  return `sha256:${match[1]}`;
}

/**
 * A model store in Ollama's layout: `manifests/<host>/<namespace>/<model>/<tag>` (a JSON manifest
 * per model) and `blobs/sha256-<hex>` (content-addressed layers). Hearth keeps the models it pulls
 * or creates in one inside the models folder; an Ollama installation's own store is read the same
 * way, read-only.
 */
export class OllamaStore {
  readonly manifestsDir: string;
  readonly blobsDir: string;

  constructor(
    readonly root: string,
    readonly writable: boolean,
  ) {
    this.manifestsDir = join(root, "manifests");
    this.blobsDir = join(root, "blobs");
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, checkDigest(digest).replace(":", "-"));
  }

  /** Where a download of the blob keeps its bytes until they are verified: a name nothing lists. */
  partialPath(digest: string): string {
    return `${this.blobPath(digest)}-partial`;
  }

  async hasBlob(digest: string): Promise<boolean> {
    return (await stat(this.blobPath(digest)).catch(() => undefined))?.isFile() === true;
  }

  manifestPath(name: OllamaName): string {
    return join(this.manifestsDir, name.host, name.namespace, name.model, name.tag);
  }

  /** Every manifest, by the four folder levels its name is made of; files that name nothing valid are skipped. */
  async list(): Promise<StoredManifest[]> {
    let entries;
    try {
      entries = await readdir(this.manifestsDir, { withFileTypes: true, recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const found: StoredManifest[] = [];
    for (const entry of entries) {
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const path = join(entry.parentPath, entry.name);
      const parts = relative(this.manifestsDir, path).split(sep);
      if (parts.length !== 4 || parts[3]!.includes(".tmp-")) continue;
      let name: OllamaName;
      try {
        name = parseOllamaName(`${parts[0]}/${parts[1]}/${parts[2]}:${parts[3]}`);
      } catch {
        continue;
      }
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile()) found.push({ name, path, modifiedAt: st.mtime });
    }
    return found;
  }

  /** The manifest stored for a name, matched case-insensitively as Ollama matches names. */
  async find(name: OllamaName): Promise<StoredManifest | undefined> {
    return (await this.list()).find((m) => sameName(m.name, name));
  }

  async readManifest(path: string): Promise<{ manifest: Manifest; digest: string }> {
    const bytes = await readFile(path);
    const manifest = parseManifest(bytes.toString("utf8"), path);
    return { manifest, digest: createHash("sha256").update(bytes).digest("hex") };
  }

  /**
   * Writes the manifest under a temporary name and renames it into place, so a listing never sees
   * half of one; a manifest stored under the same name in other letter case is replaced.
   */
  async writeManifest(name: OllamaName, bytes: string | Uint8Array): Promise<void> {
    this.assertWritable();
    const existing = await this.find(name);
    const path = this.manifestPath(name);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    if (existing && resolve(existing.path) !== resolve(path)) await this.removeManifestFile(existing.path);
  }

  /** Removes a model's manifest, then the blobs no other manifest uses (Ollama's RemoveLayers). */
  async remove(manifestPath: string): Promise<void> {
    this.assertWritable();
    const { manifest } = await this.readManifest(manifestPath);
    await this.removeManifestFile(manifestPath);
    await this.removeUnusedBlobs([manifest.config, ...manifest.layers].map((l) => l.digest));
  }

  /** Deletes those of the blobs that no manifest refers to any more. */
  async removeUnusedBlobs(digests: string[]): Promise<void> {
    const inUse = new Set<string>();
    for (const other of await this.list()) {
      const read = await this.readManifest(other.path).catch(() => undefined);
      for (const layer of read ? [read.manifest.config, ...read.manifest.layers] : []) inUse.add(layer.digest);
    }
    for (const digest of new Set(digests)) {
      if (!inUse.has(digest) && DIGEST.test(digest)) await rm(this.blobPath(digest), { force: true });
    }
  }

  async readLayerText(layer: Layer): Promise<string> {
    return readFile(this.blobPath(layer.digest), "utf8");
  }

  /**
   * Stores bytes as a blob and returns its layer: hashed while written under a temporary name,
   * then renamed to its digest (an existing blob with that digest is kept as is).
   */
  async writeBlob(data: string | Uint8Array, mediaType: string): Promise<Layer & { existed: boolean }> {
    this.assertWritable();
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const existed = await this.hasBlob(digest);
    if (!existed) {
      const path = this.blobPath(digest);
      await mkdir(this.blobsDir, { recursive: true });
      const temp = `${path}-${randomBytes(6).toString("hex")}-partial`;
      await writeFile(temp, bytes);
      await rename(temp, path);
    }
    return { mediaType, digest, size: bytes.byteLength, existed };
  }

  /**
   * Makes `file` (already known to have this digest) a blob without copying it: a hard link, or a
   * symbolic link where the file is on another file system. Returns false when the blob was there.
   */
  async linkBlob(file: string, digest: string): Promise<boolean> {
    this.assertWritable();
    if (await this.hasBlob(digest)) return false;
    const path = this.blobPath(digest);
    await mkdir(this.blobsDir, { recursive: true });
    const temp = `${path}-${randomBytes(6).toString("hex")}-partial`;
    await link(file, temp).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== "EXDEV" && err.code !== "EPERM") throw err;
      await symlink(resolve(file), temp);
    });
    await rename(temp, path);
    return true;
  }

  /** Makes another store's blobs of these layers this store's too, linked rather than copied. */
  async adoptBlobs(from: OllamaStore, layers: Layer[]): Promise<void> {
    if (from === this) return;
    for (const layer of layers) await this.linkBlob(from.blobPath(layer.digest), layer.digest);
  }

  private async removeManifestFile(path: string): Promise<void> {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    const root = resolve(this.manifestsDir);
    for (let dir = dirname(resolve(path)); dir.startsWith(root + sep); dir = dirname(dir)) {
      if (!(await rmdir(dir).then(() => true, () => false))) break;
    }
  }

  private assertWritable(): void {
    if (!this.writable) throw new InvalidRequestError(`the Ollama model store in ${this.root} is read-only: Hearth never writes there`, "model");
  }
}

/** Parses and shape-checks a manifest; `source` names it in the error. */
export function parseManifest(text: string, source: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${source}: the manifest is not JSON`);
  }
  const manifest = value as Partial<Manifest>;
  const isLayer = (l: unknown): l is Layer =>
    typeof l === "object" && l !== null && typeof (l as Layer).digest === "string" && typeof (l as Layer).mediaType === "string" && Number.isSafeInteger((l as Layer).size);
  if (!manifest || typeof manifest !== "object" || !Array.isArray(manifest.layers) || !manifest.layers.every(isLayer) || (manifest.config !== undefined && !isLayer(manifest.config))) {
    throw new Error(`${source}: not a model manifest (it needs config and layers, each with mediaType, digest and size)`);
  }
  return manifest as Manifest;
}

/** The SHA-256 of a file, "sha256:<hex>", read in 4 MiB pieces. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** True when the file starts with GGUF's magic bytes. */
export async function isGgufFile(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.toString("latin1") === "GGUF";
  } finally {
    await handle.close();
  }
}
