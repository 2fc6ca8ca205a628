import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { modelsFolder } from "../support/models.ts";
import { createKey, sdkStatus } from "../support/keys.ts";
import { startServer, type TestServer } from "../support/server.ts";

let server: TestServer;
let alice: OpenAI;
let bob: OpenAI;
let serviceKey: string;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "hearth-isolation-"));
  const client = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
  const aliceKey = createKey(dataDir, "alice", "--user", "alice");
  const bobKey = createKey(dataDir, "bob");
  serviceKey = createKey(dataDir, "service");
  server = await startServer({ models: await modelsFolder(["tiny"]), args: ["--data-dir", dataDir], env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string> });
  alice = client(aliceKey);
  bob = client(bobKey);
});

afterAll(async () => {
  await server?.stop();
});

describe("what one key stores, another cannot see", () => {
  test("conversations and their items", async () => {
    const conversation = await alice.conversations.create({ metadata: { owner: "alice" }, items: [{ type: "message", role: "user", content: "secret plans" }] });
    expect(await sdkStatus(bob.conversations.retrieve(conversation.id))).toBe(404);
    expect(await sdkStatus(bob.conversations.items.list(conversation.id))).toBe(404);
    expect(await sdkStatus(bob.conversations.update(conversation.id, { metadata: { owner: "bob" } }))).toBe(404);
    expect(await sdkStatus(bob.conversations.delete(conversation.id))).toBe(404);
    expect(await sdkStatus(bob.conversations.items.create(conversation.id, { items: [{ type: "message", role: "user", content: "injected" }] }))).toBe(404);
    const chat = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${bob.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2, conversation: { id: conversation.id }, store: true }),
    });
    expect(chat.status).toBe(404);
    expect((await chat.json()).error.param).toBe("conversation");
    const items = await alice.conversations.items.list(conversation.id);
    expect(items.data.length).toBe(1);
    expect((await alice.conversations.retrieve(conversation.id)).metadata).toEqual({ owner: "alice" });
  });

  test("stored chat completions", async () => {
    const completion = await alice.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2, store: true, metadata: { who: "alice" } });
    expect(await sdkStatus(bob.chat.completions.retrieve(completion.id))).toBe(404);
    expect(await sdkStatus(bob.chat.completions.messages.list(completion.id))).toBe(404);
    expect(await sdkStatus(bob.chat.completions.delete(completion.id))).toBe(404);
    const listed = await bob.chat.completions.list();
    expect(listed.data.map((c) => c.id)).not.toContain(completion.id);
    expect((await alice.chat.completions.retrieve(completion.id)).id).toBe(completion.id);
  });

  test("stored responses and their chains", async () => {
    const response = await alice.responses.create({ model: "tiny", input: "hi", max_output_tokens: 2 });
    expect(await sdkStatus(bob.responses.retrieve(response.id))).toBe(404);
    expect(await sdkStatus(bob.responses.inputItems.list(response.id))).toBe(404);
    expect(await sdkStatus(bob.responses.delete(response.id))).toBe(404);
    expect(await sdkStatus(bob.responses.create({ model: "tiny", input: "more", max_output_tokens: 2, previous_response_id: response.id }))).toBe(404);
    expect((await alice.responses.retrieve(response.id)).id).toBe(response.id);
  });

  test("a service key acting for two users keeps them apart", async () => {
    const asUser = (user: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: serviceKey, maxRetries: 0, defaultHeaders: { "X-User-Id": user } });
    const conversation = await asUser("carol").conversations.create({});
    expect(await sdkStatus(asUser("dave").conversations.retrieve(conversation.id))).toBe(404);
    expect(await sdkStatus(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: serviceKey, maxRetries: 0 }).conversations.retrieve(conversation.id))).toBe(404);
    expect((await asUser("carol").conversations.retrieve(conversation.id)).id).toBe(conversation.id);
  });
});
