import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import { getSmallVocab } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let ollama: Ollama;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "text", "think"]), args: ["--ctx-size", "256", "--parallel", "1"] });
  ollama = new Ollama({ host: server.url });
});

afterAll(async () => {
  await server?.stop();
});

const vocab = getSmallVocab();
const norm = (v: number[]) => Math.hypot(...v);
const LONG = "word ".repeat(400);
const LONG_TOKENS = vocab.tokenize(LONG, false).length;

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** The same engine behind OpenAI's route, which also takes token ids: the reference for what a text embeds to. */
async function openaiEmbedding(input: string | number[], model = "tiny"): Promise<number[]> {
  const res = await fetch(`${server.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input }) });
  return (await res.json()).data[0].embedding;
}

function expectClose(a: number[], b: number[]) {
  expect(a).toHaveLength(b.length);
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 6));
}

async function runningModels(): Promise<string[]> {
  return (await (await fetch(`${server.url}/api/ps`)).json()).models.map((m: { name: string }) => m.name);
}

describe("POST /api/embed", () => {
  test("a string gets one unit-length vector with measured durations in nanoseconds and the token count", async () => {
    const response = await ollama.embed({ model: "tiny", input: "hello world" });
    expect(response.model).toBe("tiny");
    expect(response.embeddings).toHaveLength(1);
    expect(response.embeddings[0]).toHaveLength(64);
    expect(norm(response.embeddings[0]!)).toBeCloseTo(1, 6);
    expectClose(response.embeddings[0]!, await openaiEmbedding("hello world"));
    expect(response.prompt_eval_count).toBe(vocab.tokenize("hello world", false).length);
    expect(Number.isInteger(response.total_duration)).toBe(true);
    expect(Number.isInteger(response.load_duration)).toBe(true);
    expect(response.load_duration).toBeGreaterThan(0);
    expect(response.total_duration).toBeGreaterThanOrEqual(response.load_duration);
  });

  test("load_duration is the load: large for a model's first request, small once it is loaded", async () => {
    const first = await ollama.embed({ model: "text", input: "hello" });
    const second = await ollama.embed({ model: "text", input: "hello" });
    expect(first.load_duration).toBeGreaterThan(1_000_000);
    expect(second.load_duration).toBeLessThan(first.load_duration);
    expect(first.total_duration).toBeGreaterThan(second.total_duration);
  });

  test("a list keeps its order, each vector what its text embeds to alone", async () => {
    const inputs = ["the lazy dog", "hello world", "a quick fox"];
    const response = await ollama.embed({ model: "tiny", input: inputs });
    expect(response.embeddings).toHaveLength(3);
    for (const [i, input] of inputs.entries()) expectClose(response.embeddings[i]!, await openaiEmbedding(input));
    expect(response.prompt_eval_count).toBe(inputs.reduce((n, input) => n + vocab.tokenize(input, false).length, 0));
  });

  test("dimensions keeps the first components, renormalized; 0 keeps them all", async () => {
    const full = await openaiEmbedding("hello world");
    const { embeddings } = await ollama.embed({ model: "tiny", input: "hello world", dimensions: 8 });
    expect(embeddings[0]).toHaveLength(8);
    expect(norm(embeddings[0]!)).toBeCloseTo(1, 6);
    expectClose(embeddings[0]!, full.slice(0, 8).map((x) => x / norm(full.slice(0, 8))));
    expect((await post("/api/embed", { model: "tiny", input: "hello world", dimensions: 0 })).json.embeddings[0]).toHaveLength(64);
  });

  test("by default an input longer than the context is cut at the end to fit", async () => {
    const { status, json } = await post("/api/embed", { model: "tiny", input: ["short", LONG] });
    expect(status).toBe(200);
    // the context holds 256 tokens; llama.cpp needs one free
    expect(json.prompt_eval_count).toBe(vocab.tokenize("short", false).length + 255);
    expectClose(json.embeddings[1], await openaiEmbedding(vocab.tokenize(LONG, false).slice(0, 255)));
  });

  test("a 10 MB input is cut after its first tokens, or refused with truncate false, without being tokenized whole", async () => {
    const big = `${LONG}${"x".repeat(10 * 2 ** 20)}`;
    let started = performance.now();
    const cut = await post("/api/embed", { model: "tiny", input: big });
    expect(cut.status).toBe(200);
    expectClose(cut.json.embeddings[0], await openaiEmbedding(vocab.tokenize(LONG, false).slice(0, 255)));
    expect(performance.now() - started).toBeLessThan(5_000);
    started = performance.now();
    const refused = await post("/api/embed", { model: "tiny", input: big, truncate: false });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toStartWith("This model's maximum context length is 256 tokens, but input is at least ");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("truncate false refuses an input longer than the context with a 400 naming it", async () => {
    const { status, json } = await post("/api/embed", { model: "tiny", input: ["short", LONG], truncate: false });
    expect(status).toBe(400);
    expect(json.error).toBe(`This model's maximum context length is 256 tokens, but input[1] is ${LONG_TOKENS} tokens long.`);
  });

  test("options null is no options, as Ollama reads it", async () => {
    const { status, json } = await post("/api/embed", { model: "tiny", input: "hello world", options: null });
    expect(status).toBe(200);
    expectClose(json.embeddings[0], await openaiEmbedding("hello world"));
  });

  test("options.num_ctx lowers the tokens an input may use", async () => {
    const cut = await post("/api/embed", { model: "tiny", input: LONG, options: { num_ctx: 16 } });
    expect(cut.json.prompt_eval_count).toBe(16);
    expectClose(cut.json.embeddings[0], await openaiEmbedding(vocab.tokenize(LONG, false).slice(0, 16)));
    const refused = await post("/api/embed", { model: "tiny", input: LONG, options: { num_ctx: 16 }, truncate: false });
    expect(refused).toMatchObject({ status: 400, json: { error: `The context is limited to 16 tokens, but input is ${LONG_TOKENS} tokens long.` } });
  });

  test.each([
    ["an empty string", ""],
    ["an empty list", []],
    ["no input", undefined],
  ])("%s embeds nothing and loads the model", async (_label, input) => {
    const { status, json } = await post("/api/embed", { model: "think", input, keep_alive: "1m" });
    expect(status).toBe(200);
    expect(json).toMatchObject({ model: "think", embeddings: [], prompt_eval_count: 0 });
    expect(await runningModels()).toContain("think:latest");
  });

  test("keep_alive 0 unloads the model after the request", async () => {
    await ollama.embed({ model: "think", input: "hello", keep_alive: 0 });
    // the unload finishes just after the answer
    for (let i = 0; i < 50 && (await runningModels()).includes("think:latest"); i++) await Bun.sleep(20);
    expect(await runningModels()).not.toContain("think:latest");
  });

  test.each([
    ["an empty string in a list", { input: ["fine", ""] }, "input[1]"],
    ["a number as input", { input: 42 }, "input"],
    ["a number in the list", { input: ["a", 1] }, "input"],
    ["truncate of the wrong type", { input: "x", truncate: "no" }, "truncate"],
    ["negative dimensions", { input: "x", dimensions: -1 }, "dimensions"],
    ["dimensions above the embedding length", { input: "x", dimensions: 65 }, "dimensions"],
    ["a keep_alive that is no duration", { input: "x", keep_alive: "5 minutes" }, "keep_alive"],
    ["options of the wrong type", { input: "x", options: "fast" }, "options"],
  ])("%s is a 400 naming the field", async (_label, fields, field) => {
    const { status, json } = await post("/api/embed", { model: "tiny", ...fields });
    expect(status).toBe(400);
    expect(json.error).toContain(field);
  });

  test("an unknown model is a 404 in Ollama's words", async () => {
    const err = await ollama.embed({ model: "nope", input: "x" }).catch((e) => e);
    expect(err.status_code).toBe(404);
    expect(err.error).toBe('model "nope" not found, try pulling it first');
  });
});

describe("POST /api/embeddings (legacy)", () => {
  test("prompt → the model's raw vector, not normalized, pointing where /api/embed's does", async () => {
    const { embedding } = await ollama.embeddings({ model: "tiny", prompt: "hello world" });
    expect(embedding).toHaveLength(64);
    expect(Math.abs(norm(embedding) - 1)).toBeGreaterThan(0.01);
    expectClose(
      embedding.map((x) => x / norm(embedding)),
      await openaiEmbedding("hello world"),
    );
  });

  test("an empty prompt embeds nothing", async () => {
    expect(await post("/api/embeddings", { model: "tiny", prompt: "" })).toEqual({ status: 200, json: { embedding: [] } });
  });

  test("a prompt longer than the context is a 400 naming it, never truncated", async () => {
    const { status, json } = await post("/api/embeddings", { model: "tiny", prompt: LONG });
    expect(status).toBe(400);
    expect(json.error).toBe(`This model's maximum context length is 256 tokens, but prompt is ${LONG_TOKENS} tokens long.`);
  });

  test("an unknown model is a 404", async () => {
    expect((await post("/api/embeddings", { model: "nope", prompt: "x" })).status).toBe(404);
  });
});
