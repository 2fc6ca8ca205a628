import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rename, rm, rmdir, unlink } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import type { ModelCatalog, ModelInfo } from "./catalog.ts";

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
