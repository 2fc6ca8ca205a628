import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type Llama, type LlamaModel, type LlamaRankingContext, readGgufFileInfo } from "node-llama-cpp";
import { ensureModel, generateModel } from "../../scripts/gen-model.ts";
import { RANK_KEYWORD, RANK_TEMPLATE, rankScore } from "../../scripts/gguf/rank.ts";
import { deriveCapabilities } from "../../src/models/capabilities.ts";

const tmp = mkdtempSync(join(tmpdir(), "hearth-rank-test-"));
let llama: Llama;
let model: LlamaModel;
let context: LlamaRankingContext;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  model = await llama.loadModel({ modelPath: await ensureModel("rank") });
  context = await model.createRankingContext({ contextSize: 512, threads: 2 });
});

afterAll(async () => {
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** How node-llama-cpp's rankAll tokenizes a query or a document. */
const tokensOf = (text: string) => model.tokenize(text, false, "trimLeadingSpace");
const keywordCount = (text: string) => tokensOf(text).filter((token) => model.detokenize([token]).trim().toLowerCase() === RANK_KEYWORD).length;

const QUERY = "Where is the fox?";
// Four tokens each: the keyword's share of the prompt, and so the score, grows with its count.
const DOCUMENTS = ["the lazy brown dog", "fox fox fox fox", "the lazy brown fox", "the fox brown fox"];
const EXPECTED_ORDER = [1, 3, 2, 0];

describe("rank preset", () => {
  test("a qwen3 GGUF shaped like Qwen3-Reranker: rank pooling, yes/no labels, cls.output head, rerank template; small and deterministic", async () => {
    const [a, b] = [join(tmp, "a.gguf"), join(tmp, "b.gguf")];
    generateModel("rank", a);
    generateModel("rank", b);
    const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
    expect(sha(a)).toBe(sha(b));
    expect(statSync(a).size).toBeLessThan(1_000_000);
    const info = await readGgufFileInfo(a, { logWarnings: false });
    const metadata = info.metadata as any;
    expect(metadata.general.architecture).toBe("qwen3");
    expect(metadata.qwen3.pooling_type).toBe(4);
    expect(metadata.qwen3.classifier.output_labels).toEqual(["yes", "no"]);
    expect(metadata.tokenizer["chat_template.rerank"]).toBe(RANK_TEMPLATE);
    expect(info.tensorInfo!.find((t) => t.name === "cls.output.weight")?.dimensions.map(Number)).toEqual([64, 2]);
    // tied to token_embd, as in Qwen3-Reranker-0.6B
    expect(info.tensorInfo!.some((t) => t.name === "output.weight")).toBe(false);
    const capabilities = deriveCapabilities({ architecture: "qwen3", chatTemplate: metadata.tokenizer.chat_template, metadata: info.metadata, tensors: info.tensorInfo });
    expect(capabilities).toContain("rerank");
    // rank pooling returns scores, not vectors
    expect(capabilities).not.toContain("embedding");
  });

  test("node-llama-cpp ranks with it: the documents with more of the keyword come first", async () => {
    expect(model.fileInsights.supportsRanking).toBe(true);
    const scores = await context.rankAll(QUERY, DOCUMENTS);
    const order = scores.map((score, index) => ({ score, index })).sort((a, b) => b.score - a.score).map((r) => r.index);
    expect(order).toEqual(EXPECTED_ORDER);
    for (const score of scores) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);
    }
    // well apart, so the order does not hang on rounding
    const sorted = [...scores].sort((a, b) => b - a);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]! - sorted[i]!).toBeGreaterThan(0.02);
  });

  test("each score is the constructed one: the keyword's share of the templated prompt", async () => {
    const documents = [...DOCUMENTS, "Fox", "The quick brown fox jumps over the lazy dog.", "nothing here at all"];
    const scores = await context.rankAll(QUERY, documents);
    documents.forEach((document, i) => {
      const total = context.calculateInputLength(tokensOf(QUERY), tokensOf(document));
      expect(scores[i]!).toBeCloseTo(rankScore(keywordCount(QUERY) + keywordCount(document), total), 3);
    });
  });

  test("the query's keyword counts too; without any the score is low", async () => {
    const [withKeyword] = await context.rankAll("fox", ["the lazy brown dog"]);
    const [without] = await context.rankAll("dog", ["the lazy brown dog"]);
    expect(withKeyword!).toBeGreaterThan(without!);
    expect(without!).toBeLessThan(0.1);
  });

  test("a model without a classification head cannot rank", async () => {
    const tiny = await llama.loadModel({ modelPath: await ensureModel("tiny") });
    try {
      expect(tiny.fileInsights.supportsRanking).toBe(false);
      const info = await readGgufFileInfo(await ensureModel("tiny"), { logWarnings: false });
      expect(deriveCapabilities({ architecture: "qwen3", metadata: info.metadata, tensors: info.tensorInfo })).not.toContain("rerank");
    } finally {
      await tiny.dispose();
    }
  });
});
