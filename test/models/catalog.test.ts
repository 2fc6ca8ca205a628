import { beforeAll, describe, expect, test } from "bun:test";
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureModel } from "../../scripts/gen-model.ts";
import { ModelNotFoundError } from "../../src/errors.ts";
import { ModelCatalog } from "../../src/models/catalog.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hearth-catalog-"));
  await mkdir(join(dir, "scripted"));
  await copyFile(await ensureModel("tiny"), join(dir, "tiny.gguf"));
  await copyFile(await ensureModel("think"), join(dir, "scripted", "think.GGUF"));
  await writeFile(join(dir, "broken.gguf"), "not a gguf file");
  await writeFile(join(dir, "notes.txt"), "ignored");
});

describe("model catalog", () => {
  test("every readable *.gguf below the folder is a model, named by path; unreadable files are skipped", async () => {
    const names = (await new ModelCatalog(dir).list()).map((m) => m.name);
    expect(names).toEqual(["scripted:think", "tiny"]);
  });

  test("metadata comes from the GGUF header", async () => {
    const tiny = await new ModelCatalog(dir).get("tiny:latest");
    expect(tiny.architecture).toBe("qwen3");
    expect(tiny.quantization).toBe("Q8_0");
    expect(tiny.parameterCount).toBeGreaterThan(100_000);
    expect(tiny.parameterCount).toBeLessThan(1_000_000);
    expect(tiny.sizeBytes).toBe(Bun.file(join(dir, "tiny.gguf")).size);
    expect(tiny.contextLength).toBe(32768);
    expect(tiny.chatTemplate).toContain("<|im_start|>");
    expect(tiny.capabilities).toEqual(["completion", "tools", "thinking"]);
  });

  test("an unknown name is a ModelNotFoundError", async () => {
    expect(new ModelCatalog(dir).get("nope")).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  test("a missing folder is an empty catalog, not an error", async () => {
    expect(await new ModelCatalog(join(dir, "absent")).list()).toEqual([]);
  });
});
