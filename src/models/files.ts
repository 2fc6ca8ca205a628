import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, rename, rm, rmdir, unlink } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import type { ModelCatalog, ModelInfo, StoredModel } from "./catalog.ts";
import type { OllamaName } from "./ollama-name.ts";
import type { OllamaStore } from "./store.ts";

/**
 * Copies a model's file to `target` (see pathForModelName), replacing what is there. The copy is
 * written under a temporary name the catalog ignores and renamed into place, so a listing never
 * sees half a file. Copying a symlinked model copies the file it points to.
 */
export async function copyModelFile(source: ModelInfo, target: string): Promise<void> {
  if (resolve(target) === resolve(source.path)) return;
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${randomBytes(6).toString("hex")}.partial`;
  try {
    await copyFile(source.path, partial);
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

/**
 * Removes a model's file (a symlinked model loses only its link), then the folders its name
 * created if that left them empty.
 */
export async function deleteModelFile(catalog: ModelCatalog, model: ModelInfo): Promise<void> {
  await unlink(model.path);
  const root = resolve(catalog.dir);
  for (let dir = dirname(resolve(model.path)); dir.startsWith(root + sep); dir = dirname(dir)) {
    const removed = await rmdir(dir).then(
      () => true,
      () => false,
    );
    if (!removed) break;
  }
}

/**
 * Ollama's copy of a stored model: the same manifest under another name in Hearth's store. Blobs
 * of a model read from Ollama's own store are linked in, never copied.
 */
export async function copyStoredModel(into: OllamaStore, source: StoredModel, destination: OllamaName): Promise<void> {
  const { manifest } = source;
  await into.adoptBlobs(source.store, [manifest.config, ...manifest.layers]);
  await into.writeManifest(destination, await readFile(source.manifestPath));
}
