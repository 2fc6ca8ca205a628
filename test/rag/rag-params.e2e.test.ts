import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { modelsFolder } from "../support/models.ts";
import { expectValid, expectValidEvent } from "../support/openai-schemas.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Retrieval in the chat APIs: seed 003's rag_params on /v1/chat/completions and /api/chat, and the
// Responses API's file_search tool, over a vector store indexed with the `embed` model (whose
// similarities follow shared words); the `rank` model reranks by the share of the word "fox".
let server: TestServer;
let client: OpenAI;
let storeId: string;

const DOCUMENTS: Record<string, { text: string; attributes: Record<string, string> }> = {
  "france.txt": { text: "Paris is the capital of France.", attributes: { region: "europe" } },
  "fruit.md": { text: "Bananas are yellow and apples are red.", attributes: { region: "none" } },
  "japan.txt": { text: "Tokyo is the capital of Japan.", attributes: { region: "asia" } },
  "river.txt": { text: "river river river water lake", attributes: { region: "none" } },
  "fox.txt": { text: "fox fox river", attributes: { region: "none" } },
};

beforeAll(async () => {
  server = await startServer({
    models: await modelsFolder(["embed", "text", "rank"]),
    args: ["--data-dir", mkdtempSync(join(tmpdir(), "hearth-rag-chat-")), "--embedding-model", "embed", "--rerank-model", "rank", "--ctx-size", "2048"],
    env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string>,
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  storeId = (await client.vectorStores.create({ name: "facts" })).id;
  for (const [name, { text, attributes }] of Object.entries(DOCUMENTS)) {
    const file = await client.files.create({ file: await toFile(Buffer.from(text), name), purpose: "assistants" });
    const attached = await client.vectorStores.files.createAndPoll(storeId, { file_id: file.id, attributes }, { pollIntervalMs: 50 });
    expect(attached.status).toBe("completed");
  }
});

afterAll(async () => {
  await server?.stop();
});

const question = "What is the capital of France?";

function chat(extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "text", messages: [{ role: "user", content: question }], max_tokens: 4, ...extra }),
  });
}

function sseData(text: string): any[] {
  return text
    .split("\n\n")
    .filter((frame) => frame.startsWith("data: ") && !frame.startsWith("data: [DONE]"))
    .map((frame) => JSON.parse(frame.slice("data: ".length)));
}

describe("rag_params on /v1/chat/completions", () => {
  test("the chunk holding the question's words is put before the model and reported first in rag_context", async () => {
    const plain = await (await chat()).json();
    const response = await chat({ rag_params: { vector_store_ids: [storeId], max_num_results: 2 } });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.rag_context).toHaveLength(2);
    expect(body.rag_context[0]).toMatchObject({ filename: "france.txt", text: "Paris is the capital of France." });
    expect(body.rag_context[0].file_id).toStartWith("file-");
    expect(body.rag_context[0].score).toBeGreaterThan(body.rag_context[1].score);
    // The context went into the prompt: the chunks' tokens and their framing.
    expect(body.usage.prompt_tokens).toBeGreaterThan(plain.usage.prompt_tokens + 10);
    const { rag_context: _, ...completion } = body;
    expectValid("CreateChatCompletionResponse", completion);
  });

  test("streamed: rag_context arrives once, in the first chunk, before any content", async () => {
    const response = await chat({ stream: true, rag_params: { vector_store_ids: [storeId], max_num_results: 1 } });
    const chunks = sseData(await response.text());
    expect(chunks[0].rag_context).toEqual([expect.objectContaining({ filename: "france.txt" })]);
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(chunks.slice(1).every((chunk) => chunk.rag_context === undefined)).toBe(true);
    for (const { rag_context: _, ...chunk } of chunks) expectValid("CreateChatCompletionStreamResponse", chunk);
  });

  test("no match above score_threshold, or no stores: the model answers without context, rag_context empty", async () => {
    const plain = await (await chat()).json();
    for (const rag_params of [{ vector_store_ids: [storeId], score_threshold: 0.99 }, { vector_store_ids: [] }]) {
      const body = await (await chat({ rag_params })).json();
      expect(body.rag_context).toEqual([]);
      expect(body.usage.prompt_tokens).toBe(plain.usage.prompt_tokens);
    }
  });

  test("filters on the files' attributes narrow what is retrieved", async () => {
    const body = await (await chat({ rag_params: { vector_store_ids: [storeId], max_num_results: 5, filters: { type: "eq", key: "region", value: "asia" } } })).json();
    expect(body.rag_context.map((chunk: { filename: string }) => chunk.filename)).toEqual(["japan.txt"]);
    const bad = await chat({ rag_params: { vector_store_ids: [storeId], filters: { type: "eq", key: "region" } } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toStartWith("rag_params.filters");
  });

  test("rerank: the reranker's order replaces the similarity's", async () => {
    const ask = async (rerank: boolean) => {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "Tell me about the river" }], max_tokens: 2, rag_params: { vector_store_ids: [storeId], max_num_results: 2, rerank } }),
      });
      return ((await response.json()).rag_context as Array<{ filename: string; score: number }>).map((chunk) => chunk.filename);
    };
    expect(await ask(false)).toEqual(["river.txt", "fox.txt"]);
    expect(await ask(true)).toEqual(["fox.txt", "river.txt"]);
  });

  test("an unknown store is a 404 naming rag_params.vector_store_ids", async () => {
    const response = await chat({ rag_params: { vector_store_ids: [storeId, "vs_missing"] } });
    expect(response.status).toBe(404);
    expect((await response.json()).error).toMatchObject({ param: "rag_params.vector_store_ids", code: "not_found" });
  });
});

describe("rag_params on /api/chat", () => {
  test("streamed, rag_context comes on the first line; not streamed, on the answer", async () => {
    const body = { model: "text", messages: [{ role: "user", content: question }], options: { num_predict: 3 }, rag_params: { vector_store_ids: [storeId], max_num_results: 1 } };
    const streamed = await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify(body) });
    const lines = (await streamed.text()).trim().split("\n").map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ done: false, message: { role: "assistant", content: "" }, rag_context: [{ filename: "france.txt" }] });
    expect(lines.slice(1).every((line) => line.rag_context === undefined)).toBe(true);
    const whole = await (await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ ...body, stream: false }) })).json();
    expect(whole).toMatchObject({ done: true, rag_context: [{ filename: "france.txt" }] });
  });
});

describe("file_search in the Responses API", () => {
  const fileSearch = { type: "file_search" as const, vector_store_ids: [] as string[], max_num_results: 2 };

  test("Hearth runs the search: a file_search_call item first, the chunks given to the model", async () => {
    const plain = await client.responses.create({ model: "text", input: question, max_output_tokens: 4 });
    const response = await client.responses.create({ model: "text", input: question, max_output_tokens: 4, tools: [{ ...fileSearch, vector_store_ids: [storeId] }] });
    expectValid("Response", response);
    const call = response.output[0]!;
    expect(call).toMatchObject({ type: "file_search_call", status: "completed", queries: [question], results: null });
    expect(response.usage!.input_tokens).toBeGreaterThan(plain.usage!.input_tokens + 10);
    expect(response.tools).toEqual([{ type: "file_search", vector_store_ids: [storeId], max_num_results: 2, filters: null, ranking_options: { ranker: "auto", score_threshold: 0 } }]);
    const counted = await fetch(`${server.url}/v1/responses/input_tokens`, {
      method: "POST",
      body: JSON.stringify({ model: "text", input: question, tools: [{ ...fileSearch, vector_store_ids: [storeId] }] }),
    });
    expect((await counted.json()).input_tokens).toBe(response.usage!.input_tokens);
  });

  test("with include file_search_call.results the item carries the chunks; streamed, OpenAI's events", async () => {
    const stream = await client.responses.create({
      model: "text",
      input: question,
      max_output_tokens: 4,
      include: ["file_search_call.results"],
      tools: [{ ...fileSearch, vector_store_ids: [storeId] }],
      stream: true,
    });
    const types: string[] = [];
    let done: any;
    for await (const event of stream) {
      expectValidEvent(event);
      types.push(event.type);
      // max_output_tokens cuts the scripted answer short: the last event is response.incomplete.
      if (event.type === "response.completed" || event.type === "response.incomplete") done = event.response;
    }
    expect(types.slice(0, 7)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.file_search_call.in_progress",
      "response.file_search_call.searching",
      "response.file_search_call.completed",
      "response.output_item.done",
    ]);
    expect(done.output[0].results[0]).toMatchObject({ filename: "france.txt", text: "Paris is the capital of France.", attributes: { region: "europe" } });
  });

  test("a stored response with a search is continued by previous_response_id; unknown stores are a 404", async () => {
    const first = await client.responses.create({ model: "text", input: question, max_output_tokens: 4, tools: [{ ...fileSearch, vector_store_ids: [storeId] }] });
    const next = await client.responses.create({ model: "text", input: "And Japan?", max_output_tokens: 4, previous_response_id: first.id });
    expect(next.status).toBe("incomplete");
    const missing = await fetch(`${server.url}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "text", input: question, tools: [{ type: "file_search", vector_store_ids: ["vs_missing"] }] }) });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.param).toBe("tools[0].vector_store_ids");
  });
});
