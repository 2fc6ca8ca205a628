import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { modelsFolder } from "../support/models.ts";
import { expectValid } from "../support/openai-schemas.ts";
import { minimalPdf } from "../support/pdf.ts";
import { startServer, type TestServer } from "../support/server.ts";

// OpenAI's Files and Vector Stores APIs through a real server, indexing with real embeddings from
// the `embed` test model (its similarities follow the words texts share).
let server: TestServer;
let client: OpenAI;
let dataDir: string;
let storeId: string;
const fileIds: Record<string, string> = {};

const MAX_FILE_SIZE = 64 * 1024;

const DOCUMENTS: Record<string, { text: string | Uint8Array; attributes: Record<string, string | number | boolean> }> = {
  "france.txt": { text: "Paris is the capital of France. The Louvre museum is in Paris.", attributes: { region: "europe", year: 2020, public: true } },
  "fruit.md": { text: "# Fruit\n\nBananas are yellow. Apples are red or green.", attributes: { region: "none", year: 2018, public: true } },
  "japan.html": {
    text: "<!doctype html><html><head><title>x</title><style>.paris { color: red }</style></head><body><h1>Japan</h1><p>Tokyo is the capital of Japan &amp; its largest city.</p><script>var france = 1;</script></body></html>",
    attributes: { region: "asia", year: 2022, public: false },
  },
  "drinks.json": { text: JSON.stringify({ topic: "drinks", text: "Coffee and tea are popular morning drinks" }), attributes: { region: "europe", year: 2024, public: false } },
  "animals.csv": { text: "animal,color\ncat,black\nhorse,white\n", attributes: { region: "asia", year: 2019, public: true } },
  "mountain.pdf": { text: minimalPdf(["The highest mountain of Japan is Fuji.", "Snow covers the mountain in winter."]), attributes: { region: "asia", year: 2021, public: true } },
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "hearth-rag-data-"));
  server = await startServer({
    models: await modelsFolder(["embed"]),
    args: ["--data-dir", dataDir, "--embedding-model", "embed", "--max-file-size", String(MAX_FILE_SIZE)],
    env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string>,
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  const store = await client.vectorStores.create({ name: "facts", metadata: { topic: "facts" } });
  storeId = store.id;
  for (const [name, { text, attributes }] of Object.entries(DOCUMENTS)) {
    const file = await client.files.create({ file: await toFile(typeof text === "string" ? Buffer.from(text) : text, name), purpose: "assistants" });
    fileIds[name] = file.id;
    const attached = await client.vectorStores.files.createAndPoll(storeId, { file_id: file.id, attributes }, { pollIntervalMs: 50 });
    expect(attached.last_error).toBeNull();
    expect(attached.status).toBe("completed");
  }
});

afterAll(async () => {
  await server?.stop();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}/v1${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

const search = (body: object, id = storeId) => api("POST", `/vector_stores/${id}/search`, body);
const filenames = (page: { data: Array<{ filename: string }> }) => page.data.map((result) => result.filename);

describe("files", () => {
  test("upload, retrieve, list, download: OpenAI's objects, the bytes as sent", async () => {
    const file = await api("GET", `/files/${fileIds["france.txt"]}`);
    expect(file.status).toBe(200);
    expectValid("OpenAIFile", file.json);
    expect(file.json).toMatchObject({ object: "file", filename: "france.txt", purpose: "assistants", bytes: Buffer.byteLength(DOCUMENTS["france.txt"]!.text as string), status: "processed" });
    const list = await api("GET", "/files?limit=2&order=asc");
    expectValid("ListFilesResponse", list.json);
    expect(list.json.data.map((f: { id: string }) => f.id)).toEqual([fileIds["france.txt"], fileIds["fruit.md"]]);
    expect(list.json.has_more).toBe(true);
    const next = await api("GET", `/files?limit=100&order=asc&after=${fileIds["fruit.md"]}`);
    expect(next.json.data[0].id).toBe(fileIds["japan.html"]);
    const content = await client.files.content(fileIds["fruit.md"]!);
    expect(await content.text()).toBe(DOCUMENTS["fruit.md"]!.text as string);
    expect((await api("GET", "/files?purpose=user_data")).json.data).toEqual([]);
  });

  test("a purpose other than assistants or user_data is a 400 naming purpose; nothing is kept", async () => {
    const form = new FormData();
    form.append("file", new Blob(["hello"]), "a.txt");
    form.append("purpose", "fine-tune");
    const response = await fetch(`${server.url}/v1/files`, { method: "POST", body: form });
    expect(response.status).toBe(400);
    expect((await response.json()).error.param).toBe("purpose");
    expect(readdirSync(join(dataDir, "files")).sort()).toEqual(Object.values(fileIds).sort());
  });

  test("a file past --max-file-size is a 413 in OpenAI's shape, and nothing of it stays on disk", async () => {
    const form = new FormData();
    form.append("purpose", "assistants");
    form.append("file", new Blob([new Uint8Array(MAX_FILE_SIZE * 3).fill(97)]), "big.txt");
    const response = await fetch(`${server.url}/v1/files`, { method: "POST", body: form });
    expect(response.status).toBe(413);
    const body = await response.json();
    expect(body.error).toMatchObject({ type: "invalid_request_error", param: "file", code: "file_too_large" });
    expect(readdirSync(join(dataDir, "files")).sort()).toEqual(Object.values(fileIds).sort());
  });

  test("unknown files are 404s", async () => {
    expect((await api("GET", "/files/file-absent")).status).toBe(404);
    expect((await api("GET", "/files/file-absent/content")).status).toBe(404);
    expect((await api("DELETE", "/files/file-absent")).json.error.param).toBe("file_id");
  });
});

describe("vector stores", () => {
  test("the store and its files in OpenAI's shapes, with counts and usage", async () => {
    const store = await api("GET", `/vector_stores/${storeId}`);
    expectValid("VectorStoreObject", store.json);
    const total = Object.keys(DOCUMENTS).length;
    expect(store.json).toMatchObject({ object: "vector_store", name: "facts", status: "completed", metadata: { topic: "facts" }, embedding_model: "embed" });
    expect(store.json.file_counts).toEqual({ in_progress: 0, completed: total, failed: 0, cancelled: 0, total });
    expect(store.json.usage_bytes).toBeGreaterThan(total * 1024);
    const files = await api("GET", `/vector_stores/${storeId}/files?filter=completed&limit=3`);
    expectValid("ListVectorStoreFilesResponse", files.json);
    expect(files.json.data).toHaveLength(3);
    expect(files.json.has_more).toBe(true);
    const file = await api("GET", `/vector_stores/${storeId}/files/${fileIds["france.txt"]}`);
    expectValid("VectorStoreFileObject", file.json);
    expect(file.json).toMatchObject({ id: fileIds["france.txt"], vector_store_id: storeId, status: "completed", attributes: DOCUMENTS["france.txt"]!.attributes, chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } } });
    const list = await api("GET", "/vector_stores");
    expectValid("ListVectorStoresResponse", list.json);
    expect(list.json.data[0].id).toBe(storeId);
  });

  test("search puts the chunk holding the query's words first", async () => {
    const page = await search({ query: "What is the capital of France?" });
    expect(page.status).toBe(200);
    expectValid("VectorStoreSearchResultsPage", page.json);
    expect(page.json.search_query).toEqual(["What is the capital of France?"]);
    expect(page.json.data[0]).toMatchObject({ file_id: fileIds["france.txt"], filename: "france.txt", attributes: DOCUMENTS["france.txt"]!.attributes });
    expect(page.json.data[0].content[0].text).toContain("Paris is the capital of France");
    expect(page.json.data[0].score).toBeGreaterThan(page.json.data[1].score);
    expect(filenames((await search({ query: "yellow bananas" })).json)[0]).toBe("fruit.md");
    expect(filenames((await search({ query: "morning coffee" })).json)[0]).toBe("drinks.json");
    expect(filenames((await search({ query: "black cat" })).json)[0]).toBe("animals.csv");
    // The SDK's own call, and a PDF's text, read by pdf.js.
    const sdk = await client.vectorStores.search(storeId, { query: "mountain snow in winter", max_num_results: 1 });
    expect(sdk.data.map((result) => result.filename)).toEqual(["mountain.pdf"]);
    expect(sdk.data[0]!.content[0]!.text).toContain("Fuji");
  });

  test("HTML is indexed without its tags, scripts and styles", async () => {
    const top = (await search({ query: "Tokyo largest city" })).json.data[0];
    expect(top.filename).toBe("japan.html");
    expect(top.content[0].text).toContain("Tokyo is the capital of Japan & its largest city.");
    expect(top.content[0].text).not.toContain("<p>");
    expect(top.content[0].text).not.toContain("france");
    const content = await api("GET", `/vector_stores/${storeId}/files/${fileIds["japan.html"]}/content`);
    expectValid("VectorStoreFileContentResponse", content.json);
    expect(content.json.data[0].text).toContain("Japan\nTokyo is the capital");
  });

  test("filters on attributes: comparisons and compounds", async () => {
    const capital = { query: "capital", max_num_results: 10 };
    expect(filenames((await search({ ...capital, filters: { type: "eq", key: "region", value: "asia" } })).json)[0]).toBe("japan.html");
    const recent = (await search({ ...capital, filters: { type: "gte", key: "year", value: 2022 } })).json;
    expect(new Set(filenames(recent))).toEqual(new Set(["japan.html", "drinks.json"]));
    const inList = (await search({ ...capital, filters: { type: "in", key: "region", value: ["none", "europe"] } })).json;
    expect(new Set(filenames(inList))).toEqual(new Set(["france.txt", "fruit.md", "drinks.json"]));
    const and = await search({ ...capital, filters: { type: "and", filters: [{ type: "eq", key: "public", value: true }, { type: "ne", key: "region", value: "asia" }] } });
    expect(new Set(filenames(and.json))).toEqual(new Set(["france.txt", "fruit.md"]));
    const or = await search({ ...capital, filters: { type: "or", filters: [{ type: "lt", key: "year", value: 2019 }, { type: "and", filters: [{ type: "eq", key: "region", value: "asia" }, { type: "eq", key: "public", value: false }] }] } });
    expect(new Set(filenames(or.json))).toEqual(new Set(["fruit.md", "japan.html"]));
    const bad = await search({ ...capital, filters: { type: "or", filters: [{ type: "in", key: "year", value: 5 }] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe("filters.filters[0].value");
  });

  test("score_threshold leaves out weaker results; max_num_results bounds them", async () => {
    const all = (await search({ query: "yellow bananas", max_num_results: 50 })).json.data;
    expect(all.length).toBe(Object.keys(DOCUMENTS).length);
    const strong = (await search({ query: "yellow bananas", ranking_options: { score_threshold: 0.3 } })).json.data;
    expect(filenames({ data: strong })).toEqual(["fruit.md"]);
    expect(strong[0].score).toBeGreaterThanOrEqual(0.3);
    expect((await search({ query: "yellow", max_num_results: 2 })).json.data).toHaveLength(2);
    expect((await search({ query: "yellow", max_num_results: 51 })).json.error.param).toBe("max_num_results");
  });

  test("static chunking: chunks of at most max_chunk_size_tokens of the model's tokens, overlapping", async () => {
    const words = ["river", "mountain", "garden", "winter", "music", "school", "coffee", "bridge", "station", "doctor"];
    const text = Array.from({ length: 1500 }, (_, i) => `${words[i % words.length]}${i % 7 === 6 ? "." : ""}`).join(" ");
    const file = await client.files.create({ file: await toFile(Buffer.from(text), "long.txt"), purpose: "user_data" });
    const store = await client.vectorStores.create({ name: "chunks" });
    const chunking_strategy = { type: "static" as const, static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 30 } };
    const attached = await client.vectorStores.files.createAndPoll(store.id, { file_id: file.id, chunking_strategy }, { pollIntervalMs: 50 });
    expect(attached.chunking_strategy).toEqual({ type: "static", static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 30 } });
    const chunks = (await search({ query: "river mountain garden", max_num_results: 50 }, store.id)).json.data.map((result: { content: Array<{ text: string }> }) => result.content[0]!.text);
    // 1500 words of about 1.1 tokens: 70-tokens steps make over 20 chunks.
    expect(chunks.length).toBeGreaterThan(20);
    const counts: number[] = [];
    for (const chunk of chunks) {
      const response = await fetch(`${server.url}/tokenize`, { method: "POST", body: JSON.stringify({ model: "embed", content: chunk }) });
      counts.push(((await response.json()) as { tokens: number[] }).tokens.length);
    }
    expect(Math.max(...counts)).toBeLessThanOrEqual(100);
    // Cuts fall at word starts in a chunk's second half; only the last chunk may be shorter.
    expect(counts.filter((count) => count < 50).length).toBeLessThanOrEqual(1);
    const bad = await api("POST", "/vector_stores", { chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 51 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe("chunking_strategy.static.chunk_overlap_tokens");
  });

  test("a binary file fails with last_error unsupported_file; the store counts it as failed", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1]);
    const file = await client.files.create({ file: await toFile(png, "image.png"), purpose: "assistants" });
    const store = await client.vectorStores.create({ name: "binary", file_ids: [file.id] });
    const attached = await client.vectorStores.files.poll(store.id, file.id, { pollIntervalMs: 50 });
    expect(attached.status).toBe("failed");
    expect(attached.last_error?.code).toBe("unsupported_file");
    expectValid("VectorStoreFileObject", (await api("GET", `/vector_stores/${store.id}/files/${file.id}`)).json);
    expect((await client.vectorStores.retrieve(store.id)).file_counts).toMatchObject({ failed: 1, total: 1 });
  });

  test("update, attributes, detach and delete", async () => {
    const store = await client.vectorStores.create({ name: "temp", file_ids: [fileIds["fruit.md"]!], expires_after: { anchor: "last_active_at", days: 2 } });
    expect(store.expires_at).toBe(store.last_active_at! + 2 * 86400);
    const updated = await api("POST", `/vector_stores/${store.id}`, { name: "renamed", metadata: { a: "b" }, expires_after: null });
    expect(updated.json).toMatchObject({ name: "renamed", metadata: { a: "b" }, expires_at: null });
    await client.vectorStores.files.poll(store.id, fileIds["fruit.md"]!, { pollIntervalMs: 50 });
    const attributes = await api("POST", `/vector_stores/${store.id}/files/${fileIds["fruit.md"]}`, { attributes: { kind: "fruit" } });
    expect(attributes.json.attributes).toEqual({ kind: "fruit" });
    expect((await search({ query: "bananas", filters: { type: "eq", key: "kind", value: "fruit" } }, store.id)).json.data).toHaveLength(1);
    const detached = await api("DELETE", `/vector_stores/${store.id}/files/${fileIds["fruit.md"]}`);
    expectValid("DeleteVectorStoreFileResponse", detached.json);
    expect((await search({ query: "bananas" }, store.id)).json.data).toEqual([]);
    // The file itself stays, and so do its chunks in the other store.
    expect((await api("GET", `/files/${fileIds["fruit.md"]}`)).status).toBe(200);
    expect(filenames((await search({ query: "bananas" })).json)[0]).toBe("fruit.md");
    const deleted = await api("DELETE", `/vector_stores/${store.id}`);
    expectValid("DeleteVectorStoreResponse", deleted.json);
    expect((await api("GET", `/vector_stores/${store.id}`)).status).toBe(404);
  });

  test("unknown stores and files are 404s naming what is missing", async () => {
    expect((await api("GET", "/vector_stores/vs_absent")).json.error.param).toBe("vector_store_id");
    expect((await search({ query: "x" }, "vs_absent")).status).toBe(404);
    expect((await api("GET", `/vector_stores/${storeId}/files/file-absent`)).json.error.param).toBe("file_id");
    const attach = await api("POST", `/vector_stores/${storeId}/files`, { file_id: "file-absent" });
    expect(attach.status).toBe(404);
    expect(attach.json.error.param).toBe("file_id");
    const create = await api("POST", "/vector_stores", { file_ids: ["file-absent"] });
    expect(create.json.error.param).toBe("file_ids[0]");
    const model = await api("POST", "/vector_stores", { embedding_model: "absent" });
    expect(model.status).toBe(404);
    expect(model.json.error.param).toBe("embedding_model");
  });

  test("/v1/embeddings serves the embed model", async () => {
    const embedding = await client.embeddings.create({ model: "embed", input: "capital" });
    expect(embedding.data[0]!.embedding).toHaveLength(256);
  });

  test("deleting a file takes its chunks out of every store's searches", async () => {
    const before = await search({ query: "capital of France Paris" });
    expect(filenames(before.json)).toContain("france.txt");
    const deleted = await api("DELETE", `/files/${fileIds["france.txt"]}`);
    expectValid("DeleteFileResponse", deleted.json);
    const after = await search({ query: "capital of France Paris", max_num_results: 50 });
    expect(filenames(after.json)).not.toContain("france.txt");
    expect((await api("GET", `/vector_stores/${storeId}/files/${fileIds["france.txt"]}`)).status).toBe(404);
    expect(readdirSync(join(dataDir, "files"))).not.toContain(fileIds["france.txt"]);
  });
});
