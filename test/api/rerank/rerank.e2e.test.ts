import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getLlama, type Llama, type LlamaModel, type LlamaRankingContext } from "node-llama-cpp";
import { ensureModel } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// The `rank` preset scores a document by the share of its prompt that is the word "fox".
const CONTEXT_SIZE = 512;
const QUERY = "Where is the fox?";
const DOCUMENTS = ["the lazy brown dog", "fox fox fox fox", "the lazy brown fox", "the fox brown fox"];
const EXPECTED_ORDER = [1, 3, 2, 0];

let server: TestServer;
let llama: Llama;
let model: LlamaModel;
let reference: LlamaRankingContext;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["rank", "tiny"]), args: ["--ctx-size", String(CONTEXT_SIZE), "--parallel", "1", "--threads", "1"] });
  llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  model = await llama.loadModel({ modelPath: await ensureModel("rank") });
  reference = await model.createRankingContext({ contextSize: CONTEXT_SIZE, batchSize: CONTEXT_SIZE, threads: 1 });
});

afterAll(async () => {
  await server?.stop();
  await reference?.dispose();
  await model?.dispose();
  await llama?.dispose();
});

interface Result {
  index: number;
  relevance_score: number;
  document?: { text: string };
}

async function rerank(body: Record<string, unknown>, path = "/v1/rerank"): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function ranked(body: Record<string, unknown>, path?: string): Promise<Result[]> {
  const { status, json } = await rerank({ model: "rank", query: QUERY, documents: DOCUMENTS, ...body }, path);
  expect(status).toBe(200);
  return json.results;
}

describe("POST /v1/rerank", () => {
  test("the constructed case comes back most relevant first, in llama.cpp's shape", async () => {
    const { status, json } = await rerank({ model: "rank", query: QUERY, documents: DOCUMENTS });
    expect(status).toBe(200);
    expect(Object.keys(json)).toEqual(["model", "object", "usage", "results"]);
    expect(json).toMatchObject({ model: "rank", object: "list" });
    expect(json.results.map((r: Result) => r.index)).toEqual(EXPECTED_ORDER);
    for (const result of json.results) {
      expect(Object.keys(result)).toEqual(["index", "relevance_score"]);
      expect(result.relevance_score).toBeGreaterThan(0);
      expect(result.relevance_score).toBeLessThanOrEqual(1);
    }
  });

  test("scores and usage are node-llama-cpp's own rankAll for the same inputs", async () => {
    const { json } = await rerank({ model: "rank", query: QUERY, documents: DOCUMENTS });
    const expected = await reference.rankAll(QUERY, DOCUMENTS);
    for (const result of json.results as Result[]) expect(result.relevance_score).toBeCloseTo(expected[result.index]!, 6);
    const tokens = DOCUMENTS.reduce((sum, document) => sum + reference.calculateInputLength(QUERY, document), 0);
    expect(json.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  test("top_n keeps the best; return_documents adds each one's text; objects rank as their text", async () => {
    const top = await ranked({ top_n: 2 });
    expect(top.map((r) => r.index)).toEqual(EXPECTED_ORDER.slice(0, 2));
    expect(await ranked({ top_n: 99 })).toHaveLength(DOCUMENTS.length);
    const withDocuments = await ranked({ return_documents: true });
    for (const result of withDocuments) expect(result.document).toEqual({ text: DOCUMENTS[result.index]! });
    const objects = await ranked({ documents: DOCUMENTS.map((text) => ({ text })) });
    expect(objects).toEqual(await ranked({}));
  });

  test("llama.cpp's other paths answer the same", async () => {
    const expected = await ranked({});
    for (const path of ["/v1/reranking", "/rerank", "/reranking"]) expect(await ranked({}, path)).toEqual(expected);
  });

  test("the reranker lists the rerank capability; a model that cannot rank is a 400 naming model", async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()).data as Array<{ id: string; capabilities: string[] }>;
    expect(models.find((m) => m.id === "rank")?.capabilities).toContain("rerank");
    expect(models.find((m) => m.id === "tiny")?.capabilities).not.toContain("rerank");
    const { status, json } = await rerank({ model: "tiny", query: QUERY, documents: DOCUMENTS });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param: "model", message: expect.stringContaining("cannot rerank") });
  });

  test("an unknown model is a 404", async () => {
    const { status, json } = await rerank({ model: "absent", query: QUERY, documents: DOCUMENTS });
    expect(status).toBe(404);
    expect(json.error).toMatchObject({ param: "model", code: "model_not_found" });
  });

  test("bad input is a 400 naming the field", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ documents: [] }, "documents"],
      [{ top_n: 0 }, "top_n"],
      [{ top_n: 1.5 }, "top_n"],
      [{ query: "" }, "query"],
      [{ query: undefined }, "query"],
      [{ documents: ["a", { title: "b" }] }, "documents[1].text"],
      [{ documents: ["a", 5] }, "documents[1]"],
      [{ return_documents: "yes" }, "return_documents"],
      [{ documents: ["short", "fox ".repeat(CONTEXT_SIZE)] }, "documents[1]"],
    ];
    for (const [fields, param] of cases) {
      const { status, json } = await rerank({ model: "rank", query: QUERY, documents: DOCUMENTS, ...fields });
      expect({ fields, status, param: json.error?.param }).toEqual({ fields, status: 400, param });
    }
    const { json } = await rerank({ model: "rank", query: QUERY, documents: ["fox ".repeat(CONTEXT_SIZE)] });
    expect(json.error.code).toBe("context_length_exceeded");
  });

  // Last: it unloads the model. A request ranking many long documents holds the model until its last
  // document; one whose client hung up lets go at once, so an unload asked for right after completes.
  test("a client that disconnects stops the ranking", async () => {
    const long = "the quick brown fox jumps over the lazy dog ".repeat(10);
    const controller = new AbortController();
    const pending = fetch(`${server.url}/v1/rerank`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "rank", query: QUERY, documents: Array.from({ length: 5000 }, () => long) }),
      signal: controller.signal,
    }).catch((err) => err);
    await Bun.sleep(1500);
    controller.abort();
    expect((await pending).name).toBe("AbortError");
    const unload = await fetch(`${server.url}/api/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "rank", keep_alive: 0 }) });
    expect(unload.status).toBe(200);
    const started = performance.now();
    const loaded = async () => ((await (await fetch(`${server.url}/api/ps`)).json()).models as Array<{ model: string }>).some((m) => m.model.startsWith("rank"));
    while ((await loaded()) && performance.now() - started < 5000) await Bun.sleep(50);
    expect(await loaded()).toBe(false);
  }, 30_000);
});
