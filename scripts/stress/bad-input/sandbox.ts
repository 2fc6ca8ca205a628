/**
 * A folder tree for the bad-input run: the models folder two levels down, copies of the models
 * (not links: a route writing through a link would change the shared generated models), and GGUF
 * canaries where the traversal names in values.ts land. The server runs with the sandbox root as
 * its working directory, so relative paths land inside it too. A snapshot before and after tells
 * whether anything outside the models folder was written, renamed or deleted.
 */
import { copyFile, lstat, mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ensureModel, type PresetName } from "../../gen-model.ts";

export interface Sandbox {
  root: string;
  models: string;
}

export async function makeSandbox(presets: PresetName[]): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "hearth-bad-input-"));
  const models = join(root, "a", "b", "models");
  await mkdir(models, { recursive: true });
  await mkdir(join(root, "a", "etc"));
  await mkdir(join(root, "outside"));
  for (const preset of presets) await copyFile(await ensureModel(preset), join(models, `${preset}.gguf`));
  // Valid models, so that a route resolving a name to one of them would serve it, which shows.
  const canary = await ensureModel("tiny");
  for (const path of ["a/b/canary.gguf", "a/canary.gguf", "a/etc/passwd.gguf", "outside/canary.gguf"]) await copyFile(canary, join(root, path));
  await writeFile(join(root, "a", "etc", "passwd"), "root:x:0:0:canary:/root:/bin/sh\n");
  await writeFile(join(root, "outside", "canary"), "canary\n");
  return { root, models };
}

/** Every file and folder under the root but the models folder: path → kind, size and modification time. */
export async function snapshot(sandbox: Sandbox): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const walk = async (dir: string) => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (path === sandbox.models) continue;
      const stat = await lstat(path);
      entries.set(relative(sandbox.root, path), `${stat.isDirectory() ? "dir" : stat.isSymbolicLink() ? "link" : "file"} ${stat.size} ${stat.mtimeMs}`);
      if (stat.isDirectory()) await walk(path);
    }
  };
  await walk(sandbox.root);
  return entries;
}

/** What changed between two snapshots, one line per path. */
export function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [path, was] of before) {
    const now = after.get(path);
    if (now === undefined) lines.push(`deleted ${path}`);
    else if (now !== was) lines.push(`changed ${path}: ${was} → ${now}`);
  }
  for (const path of after.keys()) if (!before.has(path)) lines.push(`created ${path}`);
  return lines;
}
