import { afterAll, beforeAll, expect, test } from "bun:test";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// llama.cpp server's /tokenize and /detokenize, with Hearth's `model` field (optional when only one model can be meant).
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["text", "tiny"]) });
});

afterAll(async () => {
  await server?.stop();
});

async function post(path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

test("without a model, and two models available and none loaded, which to use cannot be told: a 400 naming model", async () => {
  const { status, json } = await post("/tokenize", { content: "Hello" });
  expect(status).toBe(400);
  expect(json.error).toMatchObject({ type: "invalid_request_error", param: "model", message: expect.stringContaining("model is required") });
});

test("tokens as ids; with_pieces as {id, piece}, a piece that is part of a character as its bytes", async () => {
  const plain = await post("/tokenize", { model: "text", content: "Hello world á" });
  expect(plain.status).toBe(200);
  expect(Object.keys(plain.json)).toEqual(["tokens"]);
  const ids = plain.json.tokens as number[];
  expect(ids.every((id) => Number.isInteger(id))).toBe(true);
  const pieces = (await post("/tokenize", { model: "text", content: "Hello world á", with_pieces: true })).json.tokens as Array<{ id: number; piece: string | number[] }>;
  expect(pieces.map((p) => p.id)).toEqual(ids);
  for (const p of pieces) expect(Object.keys(p)).toEqual(["id", "piece"]);
  // The pieces put together are the text again, byte for byte.
  const bytes = pieces.flatMap((p) => (typeof p.piece === "string" ? [...Buffer.from(p.piece, "utf8")] : p.piece));
  expect(Buffer.from(bytes).toString("utf8")).toBe("Hello world á");
  // á (C3 A1) is two byte tokens in the test vocabulary, neither valid UTF-8 alone
  expect(pieces.slice(-2).map((p) => p.piece)).toEqual([[0xc3], [0xa1]]);
});

test("once exactly one model is loaded, a request without a model uses it", async () => {
  const withModel = await post("/tokenize", { model: "text", content: "The quick brown fox" });
  const without = await post("/tokenize", { content: "The quick brown fox" });
  expect(without.status).toBe(200);
  expect(without.json.tokens).toEqual(withModel.json.tokens);
});

test("special tokens are parsed by default; parse_special false tokenizes them as text", async () => {
  const special = (await post("/tokenize", { model: "text", content: "<|im_start|>" })).json.tokens as number[];
  expect(special).toHaveLength(1);
  const plain = (await post("/tokenize", { model: "text", content: "<|im_start|>", parse_special: false })).json.tokens as number[];
  expect(plain.length).toBeGreaterThan(1);
  const withSpecial = (await post("/tokenize", { model: "text", content: "Hi", add_special: true })).json.tokens as number[];
  const without = (await post("/tokenize", { model: "text", content: "Hi" })).json.tokens as number[];
  // the model's BOS/EOS, if it adds any, around the same tokens
  expect(withSpecial.length).toBeGreaterThanOrEqual(without.length);
  expect(`,${withSpecial.join(",")},`).toContain(`,${without.join(",")},`);
});

test("detokenize turns the ids back into the text, special tokens written out", async () => {
  const content = "<|im_start|>user\nThe quick brown fox á";
  const { tokens } = (await post("/tokenize", { model: "text", content })).json as { tokens: number[] };
  const back = await post("/detokenize", { model: "text", tokens });
  expect(back.status).toBe(200);
  expect(back.json).toEqual({ content });
  expect((await post("/detokenize", { model: "text", tokens: [] })).json).toEqual({ content: "" });
});

test("bad input: an id outside the vocabulary, an unknown model, a wrong type", async () => {
  const outside = await post("/detokenize", { model: "text", tokens: [1, 99_999_999] });
  expect(outside.status).toBe(400);
  expect(outside.json.error).toMatchObject({ type: "invalid_request_error", param: "tokens[1]" });
  const unknown = await post("/tokenize", { model: "nope", content: "x" });
  expect(unknown.status).toBe(404);
  expect(unknown.json.error).toMatchObject({ code: "model_not_found" });
  const wrong = await post("/tokenize", { model: "text", content: 5 });
  expect(wrong.status).toBe(400);
  expect(wrong.json.error).toMatchObject({ param: "content" });
});

test("a text no context of the model could hold is refused before it is tokenized, naming content", async () => {
  const started = performance.now();
  const { status, json } = await post("/tokenize", { model: "text", content: "x".repeat(10 * 2 ** 20) });
  expect(status).toBe(400);
  expect(json.error).toMatchObject({ type: "invalid_request_error", param: "content", code: "context_length_exceeded" });
  // tokenizing it would take 15-40 s
  expect(performance.now() - started).toBeLessThan(5_000);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
});
