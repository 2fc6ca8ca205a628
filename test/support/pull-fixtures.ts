import { randomBytes } from "node:crypto";
import { appendFile, copyFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ensureModel } from "../../scripts/gen-model.ts";

/**
 * A real, loadable GGUF (the `text` preset) followed by `padding` random bytes, which llama.cpp
 * never reads: big enough to be pulled in several Range parts, small enough to serve in a test.
 */
export async function paddedModel(dir: string, padding: number): Promise<string> {
  const path = join(dir, `padded-${padding}.gguf`);
  await copyFile(await ensureModel("text"), path);
  await appendFile(path, randomBytes(padding));
  return path;
}

/** Every file under a folder, relative: what a pull left behind. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}
