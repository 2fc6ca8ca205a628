import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { modelsFolder } from "../support/models.ts";
import { createKey, sdkStatus } from "../support/keys.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Files and vector stores belong to whoever made them: another key is told they do not exist,
// while a key with the admin scope sees everyone's. This server has no --embedding-model.
let server: TestServer;
let alice: OpenAI;
let bob: OpenAI;
let admin: OpenAI;
let limited: OpenAI;
let fileId: string;
let storeId: string;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "hearth-rag-isolation-"));
  const keys = {
    alice: createKey(dataDir, "alice", "--user", "alice"),
    bob: createKey(dataDir, "bob"),
    admin: createKey(dataDir, "admin", "--scope", "admin"),
    limited: createKey(dataDir, "limited", "--models", "embed"),
  };
  server = await startServer({ models: await modelsFolder(["embed", "text"]), args: ["--data-dir", dataDir], env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string> });
  const client = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
  alice = client(keys.alice);
  bob = client(keys.bob);
  admin = client(keys.admin);
  limited = client(keys.limited);
  const file = await alice.files.create({ file: await toFile(Buffer.from("The secret plans are in the garden."), "plans.txt"), purpose: "user_data" });
  fileId = file.id;
  const store = await alice.vectorStores.create({ name: "private", embedding_model: "embed", file_ids: [fileId] } as OpenAI.VectorStores.VectorStoreCreateParams);
  storeId = store.id;
  await alice.vectorStores.files.poll(storeId, fileId, { pollIntervalMs: 50 });
});

afterAll(async () => {
  await server?.stop();
});

describe("files and vector stores across owners", () => {
  test("chat retrieval (rag_params, file_search) finds another key's store no more than the API does", async () => {
    const rag_params = { vector_store_ids: [storeId] };
    const asked = { model: "text", messages: [{ role: "user" as const, content: "Where are the secret plans?" }], max_tokens: 2 };
    expect(await sdkStatus(bob.chat.completions.create({ ...asked, rag_params } as never))).toBe(404);
    expect(await sdkStatus(bob.responses.create({ model: "text", input: "secret plans", max_output_tokens: 2, tools: [{ type: "file_search", vector_store_ids: [storeId] }] }))).toBe(404);
    const own = (await alice.chat.completions.create({ ...asked, rag_params } as never)) as unknown as { rag_context: Array<{ filename: string }> };
    expect(own.rag_context.map((chunk) => chunk.filename)).toEqual(["plans.txt"]);
  });

  test("another key gets 404 for every file and store route, and lists none of them", async () => {
    expect(await sdkStatus(bob.files.retrieve(fileId))).toBe(404);
    expect(await sdkStatus(bob.files.content(fileId))).toBe(404);
    expect(await sdkStatus(bob.files.delete(fileId))).toBe(404);
    expect((await bob.files.list()).data).toEqual([]);
    expect(await sdkStatus(bob.vectorStores.retrieve(storeId))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.update(storeId, { name: "mine" }))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.delete(storeId))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.search(storeId, { query: "secret plans" }))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.files.list(storeId))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.files.retrieve(fileId, { vector_store_id: storeId }))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.files.delete(fileId, { vector_store_id: storeId }))).toBe(404);
    expect((await bob.vectorStores.list()).data).toEqual([]);
    // Nor can another key index someone else's file into a store of its own.
    const own = await bob.vectorStores.create({ name: "bob's", embedding_model: "embed" } as OpenAI.VectorStores.VectorStoreCreateParams);
    expect(await sdkStatus(bob.vectorStores.files.create(own.id, { file_id: fileId }))).toBe(404);
    expect(await sdkStatus(bob.vectorStores.create({ name: "x", embedding_model: "embed", file_ids: [fileId] } as OpenAI.VectorStores.VectorStoreCreateParams))).toBe(404);
    expect((await alice.vectorStores.retrieve(storeId)).name).toBe("private");
  });

  test("the admin scope sees and searches everyone's", async () => {
    expect((await admin.files.retrieve(fileId)).filename).toBe("plans.txt");
    expect((await admin.files.list()).data.map((file) => file.id)).toContain(fileId);
    expect((await admin.vectorStores.list()).data.map((store) => store.id)).toContain(storeId);
    const results = await admin.vectorStores.search(storeId, { query: "secret plans" });
    expect(results.data[0]!.filename).toBe("plans.txt");
  });

  test("without --embedding-model a store must name its model; a store's name is no model name", async () => {
    const error = await alice.vectorStores.create({ name: "no model" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("embedding_model");
    // A key limited to some models still names its stores as it likes.
    const store = await limited.vectorStores.create({ name: "Support FAQ", embedding_model: "embed" } as OpenAI.VectorStores.VectorStoreCreateParams);
    expect(store.name).toBe("Support FAQ");
    // ...but embeds only with a model it may use: another is answered as if it did not exist.
    const hidden = { name: "x", embedding_model: "text" } as OpenAI.VectorStores.VectorStoreCreateParams;
    expect(await sdkStatus(limited.vectorStores.create(hidden))).toBe(404);
    expect(await sdkStatus(alice.vectorStores.create(hidden))).toBe(200);
  });
});
