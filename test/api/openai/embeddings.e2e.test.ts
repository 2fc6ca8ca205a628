import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readGgufFileInfo } from "node-llama-cpp";
import OpenAI from "openai";
import { ensureModel, getSmallVocab } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let client: OpenAI;
let embeddingLength: number;

beforeAll(async () => {
  const models = await modelsFolder(["tiny", "text"]);
  server = await startServer({ models, args: ["--ctx-size", "256", "--parallel", "1"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  const info = await readGgufFileInfo(await ensureModel("tiny"), { logWarnings: false });
  embeddingLength = Number((info.architectureMetadata as { embedding_length: number }).embedding_length);
});

afterAll(async () => {
  await server?.stop();
});

const vocab = getSmallVocab();

/** Little-endian float32s, as `encoding_format: "base64"` sends them. */
function fromBase64(text: string): number[] {
  const bytes = Buffer.from(text, "base64");
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

/**
 * OpenAI's Embedding schema only knows `embedding` as an array of floats, although its own request
 * schema offers `encoding_format: "base64"`, which makes it a base64 string; so a base64 answer must
 * carry strings, and is then checked with the vectors they encode in their place.
 */
function expectValidEmbeddings(json: any, base64: boolean) {
  const decode = (d: { embedding: unknown }) => {
    expect(typeof d.embedding).toBe("string");
    return { ...d, embedding: fromBase64(d.embedding as string) };
  };
  expectValid("CreateEmbeddingResponse", base64 ? { ...json, data: json.data.map(decode) } : json);
}

/** Every successful answer is checked against OpenAI's schema; errors are checked by their tests. */
async function post(body: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status === 200) expectValidEmbeddings(json, body.encoding_format === "base64");
  return { status: res.status, json };
}

async function embed(input: unknown, fields: Record<string, unknown> = {}): Promise<number[][]> {
  const { status, json } = await post({ model: "tiny", input, encoding_format: "float", ...fields });
  expect(status).toBe(200);
  return json.data.map((d: { embedding: number[] }) => d.embedding);
}

const norm = (v: number[]) => Math.hypot(...v);

function expectClose(a: number[], b: number[], digits = 6) {
  expect(a).toHaveLength(b.length);
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, digits));
}

describe("embeddings", () => {
  test("a string gets one unit-length vector of the model's embedding length, in OpenAI's shape", async () => {
    const { json } = await post({ model: "tiny", input: "hello world" });
    expect(json).toMatchObject({ object: "list", model: "tiny", data: [{ object: "embedding", index: 0 }] });
    const vector = json.data[0].embedding as number[];
    expect(vector).toHaveLength(embeddingLength);
    // node-llama-cpp returns the raw hidden state (norm ≠ 1); Hearth normalizes it
    expect(norm(vector)).toBeCloseTo(1, 6);
  });

  test("usage counts the tokens of every input", async () => {
    const { json } = await post({ model: "tiny", input: ["hello world", "the lazy dog"] });
    const tokens = vocab.tokenize("hello world", false).length + vocab.tokenize("the lazy dog", false).length;
    expect(json.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  test("a batch keeps input order and equals embedding each input alone", async () => {
    const inputs = ["the lazy dog", "hello world", "a quick fox"];
    const batch = await embed(inputs);
    const { json } = await post({ model: "tiny", input: inputs });
    expect(json.data.map((d: { index: number }) => d.index)).toEqual([0, 1, 2]);
    for (const [i, input] of inputs.entries()) expectClose(batch[i]!, (await embed(input))[0]!);
    expect(batch[0]).not.toEqual(batch[1]!);
  });

  test("token ids embed exactly like the string they spell, alone or as a batch of token arrays", async () => {
    const [fromText] = await embed("hello world");
    const ids = vocab.tokenize("hello world", false);
    expectClose((await embed(ids))[0]!, fromText!);
    const [a, b] = await embed([ids, vocab.tokenize("the lazy dog", false)]);
    expectClose(a!, fromText!);
    expectClose(b!, (await embed("the lazy dog"))[0]!);
  });

  test("base64 is the same vector as little-endian float32", async () => {
    const [floats] = await embed("hello world");
    const { json } = await post({ model: "tiny", input: "hello world", encoding_format: "base64" });
    expect(fromBase64(json.data[0].embedding)).toEqual(floats!.map(Math.fround));
  });

  test("the openai client (which asks for base64 and decodes it) gets the float vector", async () => {
    const [floats] = await embed("hello world");
    const response = await client.embeddings.create({ model: "tiny", input: "hello world" });
    expectValid("CreateEmbeddingResponse", response);
    expectClose(response.data[0]!.embedding, floats!);
  });

  test("dimensions keeps the first components, renormalized to unit length", async () => {
    const [full] = await embed("hello world");
    const [short] = await embed("hello world", { dimensions: 8 });
    expect(short).toHaveLength(8);
    expect(norm(short!)).toBeCloseTo(1, 6);
    const head = full!.slice(0, 8);
    expectClose(short!, head.map((x) => x / norm(head)));
  });

  test("a decoder model embeds too (its final hidden state)", async () => {
    const { json } = await post({ model: "text", input: ["The quick brown fox", "The lazy dog"] });
    expect(json.data).toHaveLength(2);
    expect(norm(json.data[0].embedding)).toBeCloseTo(1, 6);
    expect(json.data[0].embedding).not.toEqual(json.data[1].embedding);
  });
});

describe("errors", () => {
  test.each([
    ["an empty string", { input: "" }, "input"],
    ["an empty string in a batch", { input: ["fine", ""] }, "input[1]"],
    ["a token id outside the vocabulary", { input: [1, 99999] }, "input[1]"],
    ["dimensions above the embedding length", { input: "x", dimensions: 100000 }, "dimensions"],
    ["dimensions 0", { input: "x", dimensions: 0 }, "dimensions"],
    ["an unknown encoding_format", { input: "x", encoding_format: "hex" }, "encoding_format"],
    ["a number as input", { input: 42 }, "input"],
    ["an empty batch", { input: [] }, "input"],
  ])("%s is a 400 naming the field", async (_label, fields, param) => {
    const { status, json } = await post({ model: "tiny", ...fields });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param });
  });

  test("an input longer than the context is a 400 naming it", async () => {
    const { status, json } = await post({ model: "tiny", input: ["short", "word ".repeat(400)] });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ param: "input[1]", code: "context_length_exceeded" });
    expect(json.error.message).toContain("256");
  });

  test("an unknown model is a 404 model_not_found", async () => {
    const err = await client.embeddings.create({ model: "no-such-model", input: "hi" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("model_not_found");
    expect(err.param).toBe("model");
  });
});
