import { mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureModel, type PresetName } from "../../scripts/gen-model.ts";

/** A fresh models folder holding links to the generated presets, named after them. */
export async function modelsFolder(presets: PresetName[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hearth-models-"));
  for (const preset of presets) {
    const file = resolve(await ensureModel(preset));
    await symlink(file, join(dir, `${preset}.gguf`));
  }
  return dir;
}
