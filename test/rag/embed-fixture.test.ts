import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { getLlama, type Llama, type LlamaEmbeddingContext, type LlamaModel } from "node-llama-cpp";
import { ensureModel } from "../../scripts/gen-model.ts";
import { ModelCatalog } from "../../src/models/catalog.ts";
import { modelsFolder } from "../support/models.ts";

// The `embed` test model: llama.cpp runs it as an embedding model whose similarities follow the
// words two texts share, which is what the retrieval tests rely on.
let llama: Llama;
let model: LlamaModel;
let context: LlamaEmbeddingContext;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  model = await llama.loadModel({ modelPath: await ensureModel("embed") });
  context = await model.createEmbeddingContext({ contextSize: 1024 });
});

afterAll(async () => {
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
});

async function embedding(text: string): Promise<number[]> {
  const { vector } = await context.getEmbeddingFor(text);
  const norm = Math.hypot(...vector);
  return vector.map((x) => x / norm);
}

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe("the embed test model", () => {
  test("is small, and common words are single tokens whatever their casing and spacing", async () => {
    expect(statSync(await ensureModel("embed")).size).toBeLessThan(8_000_000);
    expect(model.embeddingVectorSize).toBe(256);
    for (const word of ["capital", " capital", " France", "Paris", " bananas", " yellow", " the"]) expect(model.tokenize(word)).toHaveLength(1);
  });

  test("texts are as similar as the words they share", async () => {
    const paris = await embedding("the capital of France is Paris");
    const question = await embedding("what is the capital of France");
    const bananas = await embedding("bananas are yellow");
    expect(cosine(paris, question)).toBeGreaterThan(0.6);
    expect(Math.abs(cosine(paris, bananas))).toBeLessThan(0.2);
    expect(cosine(bananas, await embedding("Yellow bananas"))).toBeGreaterThan(0.9);
    // Stop words carry nothing: two texts sharing only them are unrelated.
    expect(Math.abs(cosine(await embedding("the river is in the north"), await embedding("what is the price of the coffee")))).toBeLessThan(0.2);
  });

  test("the catalog lists it as an embedding model", async () => {
    const catalog = new ModelCatalog(await modelsFolder(["embed"]));
    expect((await catalog.get("embed")).capabilities).toContain("embedding");
  });
});
