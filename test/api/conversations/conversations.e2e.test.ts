import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// Two static keys: each owns what it stores, and the other is told it does not exist.
const KEY = "conversations-test-key-one";
const OTHER_KEY = "conversations-test-key-two";

let server: TestServer;
let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["tiny"]);
  const keyFile = join(models, "keys.txt");
  writeFileSync(keyFile, `${KEY}\n${OTHER_KEY}\n`);
  server = await startServer({ models, args: ["--api-key-file", keyFile] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
  other = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

/** A raw request with the first key, for what the SDK would refuse to send or hides. */
async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

function expectError(response: { status: number; json: any }, status: number, param: string | null) {
  expect(response.status).toBe(status);
  expect(response.json.error).toMatchObject({ type: "invalid_request_error", param });
  if (status === 404) expect(response.json.error.code).toBe("not_found");
}

/**
 * A list as sent (an SDK page's body). OpenAI's spec types first_id and last_id as strings; an
 * empty list has no item to name, so Hearth sends null there.
 */
function expectValidList(name: "ConversationItemList", page: any) {
  const list = page.body ?? page;
  if (list.data.length > 0) return expectValid(name, list);
  expect(list).toMatchObject({ first_id: null, last_id: null, has_more: false });
  expectValid(name, { ...list, first_id: "", last_id: "" });
}

describe("conversations", () => {
  test("create, retrieve, update and delete, each as OpenAI's objects", async () => {
    const created = await client.conversations.create({ metadata: { topic: "foxes" } });
    expectValid("ConversationResource", created);
    expect(created).toMatchObject({ object: "conversation", metadata: { topic: "foxes" } });
    expect(created.id).toMatch(/^conv_/);
    expect(Math.abs(created.created_at - Date.now() / 1000)).toBeLessThan(60);

    const retrieved = await client.conversations.retrieve(created.id);
    expectValid("ConversationResource", retrieved);
    expect(retrieved).toEqual(created);

    const updated = await client.conversations.update(created.id, { metadata: { topic: "badgers", mood: "curious" } });
    expectValid("ConversationResource", updated);
    expect(updated.metadata).toEqual({ topic: "badgers", mood: "curious" });
    expect((await client.conversations.retrieve(created.id)).metadata).toEqual({ topic: "badgers", mood: "curious" });

    const deleted = await client.conversations.delete(created.id);
    expectValid("DeletedConversationResource", deleted);
    expect(deleted).toEqual({ id: created.id, object: "conversation.deleted", deleted: true });
    expectError(await raw("GET", `/v1/conversations/${created.id}`), 404, "conversation_id");
  });

  test("a conversation without metadata has an empty object; its initial items are its first", async () => {
    const created = await client.conversations.create({ items: [{ role: "user", content: "hello" }, { type: "message", role: "assistant", content: "hi there" }] });
    expectValid("ConversationResource", created);
    expect(created.metadata).toEqual({});
    const items = await client.conversations.items.list(created.id, { order: "asc" });
    expectValidList("ConversationItemList", items);
    expect(items.data.map((item: any) => [item.role, item.content])).toEqual([
      ["user", [{ type: "input_text", text: "hello" }]],
      ["assistant", [{ type: "output_text", text: "hi there", annotations: [], logprobs: [] }]],
    ]);
  });

  test("null metadata in an update clears it", async () => {
    const created = await client.conversations.create({ metadata: { a: "b" } });
    const { status, json } = await raw("POST", `/v1/conversations/${created.id}`, { metadata: null });
    expect(status).toBe(200);
    expectValid("ConversationResource", json);
    expect(json.metadata).toEqual({});
  });

  test("another owner's conversation does not exist for it", async () => {
    const mine = await client.conversations.create({ items: [{ role: "user", content: "private" }] });
    const [item] = (await client.conversations.items.list(mine.id)).data;
    for (const attempt of [
      () => other.conversations.retrieve(mine.id),
      () => other.conversations.update(mine.id, { metadata: { taken: "yes" } }),
      () => other.conversations.delete(mine.id),
      () => other.conversations.items.list(mine.id),
      () => other.conversations.items.create(mine.id, { items: [{ role: "user", content: "intruding" }] }),
      () => other.conversations.items.retrieve(item!.id!, { conversation_id: mine.id }),
      () => other.conversations.items.delete(item!.id!, { conversation_id: mine.id }),
    ]) {
      const error = await attempt().catch((err) => err);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.error).toMatchObject({ type: "invalid_request_error", code: "not_found" });
    }
    expect(await client.conversations.retrieve(mine.id)).toMatchObject({ metadata: {} });
    expect((await client.conversations.items.list(mine.id)).data.length).toBe(1);
  });
});

describe("items", () => {
  test("every kind of item is added, listed, retrieved and deleted in OpenAI's shapes", async () => {
    const conversation = await client.conversations.create({});
    const added = await client.conversations.items.create(conversation.id, {
      items: [
        { role: "user", content: [{ type: "input_text", text: "What is the weather in Paris?" }] },
        { type: "reasoning", id: "rs_ignored", summary: [{ type: "summary_text", text: "Look it up." }], content: [{ type: "reasoning_text", text: "I should call the tool." }] } as never,
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
        { role: "assistant", content: "It is sunny." },
        { role: "developer", content: "Be brief." },
      ],
    });
    expectValidList("ConversationItemList", added);
    expect(added.has_more).toBe(false);
    expect(added.data.map((item) => item.type)).toEqual(["message", "reasoning", "function_call", "function_call_output", "message", "message"]);
    expect(added.data.map((item) => item.id!.split("_")[0])).toEqual(["msg", "rs", "fc", "fco", "msg", "msg"]);
    expect(added.data[1]!.id).not.toBe("rs_ignored");
    expect(added.first_id).toBe(added.data[0]!.id!);
    expect(added.last_id).toBe(added.data.at(-1)!.id!);
    expect(added.data[2]).toMatchObject({ type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" });
    expect(added.data[3]).toMatchObject({ type: "function_call_output", call_id: "call_1", output: "sunny", status: "completed" });
    for (const item of added.data) expectValid("ConversationItem", item);

    // Newest first by default.
    const listed = await client.conversations.items.list(conversation.id);
    expectValidList("ConversationItemList", listed);
    expect(listed.data.map((item) => item.id)).toEqual(added.data.map((item) => item.id).reverse());

    const retrieved = await client.conversations.items.retrieve(added.data[2]!.id!, { conversation_id: conversation.id, include: ["message.output_text.logprobs"] });
    expectValid("ConversationItem", retrieved);
    expect(retrieved).toEqual(added.data[2]!);

    const afterDelete = await client.conversations.items.delete(added.data[0]!.id!, { conversation_id: conversation.id });
    expectValid("ConversationResource", afterDelete);
    expect(afterDelete.id).toBe(conversation.id);
    expect((await client.conversations.items.list(conversation.id, { order: "asc" })).data.map((item) => item.id)).toEqual(added.data.slice(1).map((item) => item.id));
    expectError(await raw("GET", `/v1/conversations/${conversation.id}/items/${added.data[0]!.id}`), 404, "item_id");
  });

  test("pages with limit and after, in both orders; the SDK walks every page", async () => {
    const conversation = await client.conversations.create({ items: Array.from({ length: 5 }, (_, i) => ({ role: "user" as const, content: `m${i}` })) });
    const texts = (page: { data: any[] }) => page.data.map((item) => item.content[0].text);
    const first = await client.conversations.items.list(conversation.id, { limit: 2, order: "asc" });
    expectValidList("ConversationItemList", first);
    expect(texts(first)).toEqual(["m0", "m1"]);
    expect(first.has_more).toBe(true);
    const next = await client.conversations.items.list(conversation.id, { limit: 2, order: "asc", after: first.last_id });
    expect(texts(next)).toEqual(["m2", "m3"]);
    const newest = await client.conversations.items.list(conversation.id, { limit: 2 });
    expect(texts(newest)).toEqual(["m4", "m3"]);
    const walked: string[] = [];
    for await (const item of client.conversations.items.list(conversation.id, { limit: 2, order: "asc" })) walked.push((item as any).content[0].text);
    expect(walked).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  test("an empty conversation lists no items", async () => {
    const conversation = await client.conversations.create({});
    const { status, json } = await raw("GET", `/v1/conversations/${conversation.id}/items`);
    expect(status).toBe(200);
    expectValidList("ConversationItemList", json);
    expect(json.data).toEqual([]);
  });

  test("ids sent with items are not kept: the same one twice is two items", async () => {
    const conversation = await client.conversations.create({});
    for (let i = 0; i < 2; i++) {
      const { status } = await raw("POST", `/v1/conversations/${conversation.id}/items`, { items: [{ id: "msg_mine", type: "message", role: "user", content: "again" }] });
      expect(status).toBe(200);
    }
    const listed = await client.conversations.items.list(conversation.id);
    expect(listed.data.length).toBe(2);
    expect(listed.data.map((item) => item.id)).not.toContain("msg_mine");
  });
});

describe("bad input is a 400 naming the field", () => {
  const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));

  test.each([
    ["17 metadata pairs", { metadata: pairs(17) }],
    ["a metadata key of 65 characters", { metadata: { ["k".repeat(65)]: "v" } }],
    ["a metadata value of 513 characters", { metadata: { k: "v".repeat(513) } }],
  ])("%s", async (_label, body) => {
    expectError(await raw("POST", "/v1/conversations", body), 400, "metadata");
    const conversation = await client.conversations.create({});
    expectError(await raw("POST", `/v1/conversations/${conversation.id}`, body), 400, "metadata");
  });

  test("metadata at the limits is kept", async () => {
    const metadata = { ...pairs(15), ["k".repeat(64)]: "v".repeat(512) };
    const created = await client.conversations.create({ metadata });
    expect(created.metadata).toEqual(metadata);
  });

  test("a metadata value that is not a string", async () => {
    const { status, json } = await raw("POST", "/v1/conversations", { metadata: { n: 1 } });
    expect(status).toBe(400);
    expect(json.error.param).toStartWith("metadata");
  });

  test("more than 20 items at once", async () => {
    const items = Array.from({ length: 21 }, () => ({ role: "user", content: "x" }));
    expectError(await raw("POST", "/v1/conversations", { items }), 400, "items");
    const conversation = await client.conversations.create({});
    expectError(await raw("POST", `/v1/conversations/${conversation.id}/items`, { items }), 400, "items");
    expect((await client.conversations.items.list(conversation.id)).data).toEqual([]);
  });

  test("a function call whose arguments are not JSON, and an image part", async () => {
    const conversation = await client.conversations.create({});
    expectError(
      await raw("POST", `/v1/conversations/${conversation.id}/items`, { items: [{ role: "user", content: "ok" }, { type: "function_call", call_id: "c", name: "f", arguments: "{nope" }] }),
      400,
      "items[1].arguments",
    );
    const image = await raw("POST", `/v1/conversations/${conversation.id}/items`, { items: [{ role: "user", content: [{ type: "input_image", image_url: "data:," }] }] });
    expect(image.status).toBe(400);
    expect(image.json.error.param).toStartWith("items[0].content");
    // Nothing of a refused request is kept.
    expect((await client.conversations.items.list(conversation.id)).data).toEqual([]);
  });

  test.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=ten", "limit"],
    ["order=sideways", "order"],
  ])("list items with %s", async (query, param) => {
    const conversation = await client.conversations.create({});
    expectError(await raw("GET", `/v1/conversations/${conversation.id}/items?${query}`), 400, param);
  });
});

describe("unknown ids are a 404 in OpenAI's shape", () => {
  test.each([
    ["GET", "/v1/conversations/conv_nope", undefined],
    ["POST", "/v1/conversations/conv_nope", { metadata: {} }],
    ["DELETE", "/v1/conversations/conv_nope", undefined],
    ["GET", "/v1/conversations/conv_nope/items", undefined],
    ["POST", "/v1/conversations/conv_nope/items", { items: [] }],
    ["GET", "/v1/conversations/conv_nope/items/msg_nope", undefined],
    ["DELETE", "/v1/conversations/conv_nope/items/msg_nope", undefined],
  ])("%s %s", async (method, path, body) => {
    const response = await raw(method, path, body);
    expectError(response, 404, "conversation_id");
    expect(response.json.error.message).toContain("conv_nope");
  });

  test("an unknown item, and an unknown `after`", async () => {
    const conversation = await client.conversations.create({ items: [{ role: "user", content: "x" }] });
    expectError(await raw("GET", `/v1/conversations/${conversation.id}/items/msg_nope`), 404, "item_id");
    expectError(await raw("DELETE", `/v1/conversations/${conversation.id}/items/msg_nope`), 404, "item_id");
    expectError(await raw("GET", `/v1/conversations/${conversation.id}/items?after=msg_nope`), 404, "after");
  });
});
