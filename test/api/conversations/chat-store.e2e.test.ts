import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// Chat completions' `conversation`, `store` and `store_reasoning` (seed 004), and OpenAI's stored
// chat completions, through a real server generating with small scripted models.
const KEY = "chat-store-test-key-one";
const OTHER_KEY = "chat-store-test-key-two";

let server: TestServer;
let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["tiny", "text", "think", "tool", "endless"]);
  const keyFile = join(models, "keys.txt");
  writeFileSync(keyFile, `${KEY}\n${OTHER_KEY}\n`);
  server = await startServer({ models, args: ["--api-key-file", keyFile, "--parallel", "2"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
  other = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const user = (content: string) => ({ role: "user" as const, content });
const tools = [
  {
    type: "function" as const,
    function: { name: "get_weather", description: "Current weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  },
];

function post(body: object, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

async function chat(body: object): Promise<{ status: number; conversationHeader: string | null; json: any }> {
  const res = await post(body);
  return { status: res.status, conversationHeader: res.headers.get("x-conversation-id"), json: await res.json() };
}

/** A stream's chunks (each checked against OpenAI's chunk schema) and its header. */
async function stream(body: object): Promise<{ conversationHeader: string | null; chunks: any[] }> {
  const res = await post({ ...body, stream: true });
  expect(res.status).toBe(200);
  const events = (await res.text()).split("\n\n").filter(Boolean);
  expect(events.at(-1)).toBe("data: [DONE]");
  const chunks = events.slice(0, -1).map((event) => JSON.parse(event.replace(/^data: /, "")));
  for (const chunk of chunks) expectValid("CreateChatCompletionStreamResponse", chunk);
  return { conversationHeader: res.headers.get("x-conversation-id"), chunks };
}

/** A list as the server sent it, first_id and last_id included (an SDK page holds them but does not show them). */
const sent = (page: object): any => (page as unknown as { body: unknown }).body;

/** The conversation's items, oldest first, each checked against OpenAI's item schema. */
async function items(conversationId: string): Promise<any[]> {
  const list = await client.conversations.items.list(conversationId, { order: "asc", limit: 100 });
  if (list.data.length > 0) expectValid("ConversationItemList", sent(list));
  return list.data;
}

/** Hearth's additions to a chat.completion, which the SDK's type does not know. */
const stored = (completion: object) => completion as { metadata?: Record<string, string>; conversation?: { id: string } };

const summary = (item: any) => (item.type === "message" ? [item.role, item.content.map((part: any) => part.text).join("")] : [item.type]);

/**
 * OpenAI's spec gives a stored message the response message's schema, whose role is always
 * "assistant", though its own example (and its API) lists the request's user messages with their
 * role. Each message is checked with that one field set aside.
 */
function expectValidMessages(list: any) {
  expectValid("ChatCompletionMessageList", { ...list, data: list.data.map((message: any) => ({ ...message, role: "assistant" })) });
  expect(list.data.map((message: any) => message.role)).toEqual(expect.arrayContaining([expect.stringMatching(/^(system|developer|user|assistant|tool|function)$/)]));
}

describe("store: true without a conversation keeps an OpenAI stored chat completion", () => {
  test("retrieve, list, messages, update and delete", async () => {
    const created = await client.chat.completions.create({
      model: "text",
      messages: [{ role: "system", content: "Be terse." }, user("Tell me about foxes.")],
      temperature: 0,
      store: true,
      metadata: { suite: "stored", run: "1" },
    });
    expectValid("CreateChatCompletionResponse", created);
    expect(created.choices[0]!.message.content).toBe(SCRIPTED.text.content);
    expect((created as any).conversation).toBeUndefined();

    const retrieved = await client.chat.completions.retrieve(created.id);
    expectValid("CreateChatCompletionResponse", retrieved);
    expect(retrieved as object).toEqual({ ...created, metadata: { suite: "stored", run: "1" } });

    const messages = await client.chat.completions.messages.list(created.id);
    expectValidMessages(sent(messages));
    expect(messages.data.map((message) => [message.id, message.role, message.content])).toEqual([
      [`${created.id}-0`, "system", "Be terse."],
      [`${created.id}-1`, "user", "Tell me about foxes."],
    ]);
    const newestMessage = await client.chat.completions.messages.list(created.id, { order: "desc", limit: 1 });
    expect(newestMessage.data.map((message) => message.id)).toEqual([`${created.id}-1`]);
    expect(newestMessage.has_more).toBe(true);

    const updated = await client.chat.completions.update(created.id, { metadata: { suite: "stored", run: "2" } });
    expectValid("CreateChatCompletionResponse", updated);
    expect(stored(updated).metadata).toEqual({ suite: "stored", run: "2" });

    const deleted = await client.chat.completions.delete(created.id);
    expectValid("ChatCompletionDeleted", deleted);
    expect(deleted).toEqual({ object: "chat.completion.deleted", id: created.id, deleted: true });
    expect(await client.chat.completions.retrieve(created.id).catch((err) => err)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("lists filter by model and metadata, page with after, and leave out what was not stored", async () => {
    const ask = (model: string, run: string, store = true) => client.chat.completions.create({ model, messages: [user("Hi")], max_tokens: 2, temperature: 0, store, metadata: { suite: "list", run } });
    const [a, b, c] = [await ask("text", "a"), await ask("tiny", "b"), await ask("text", "c")];
    const unstored = await ask("text", "d", false);
    const suite = { suite: "list" };

    const all = await client.chat.completions.list({ metadata: suite });
    expectValid("ChatCompletionList", sent(all));
    expect(all.data.map((completion) => completion.id)).toEqual([a.id, b.id, c.id]);
    expect(all.data.map((completion) => stored(completion).metadata?.run)).toEqual(["a", "b", "c"]);
    expect(all.data.map((completion) => completion.id)).not.toContain(unstored.id);

    const texts = await client.chat.completions.list({ metadata: suite, model: "text", order: "desc" });
    expect(texts.data.map((completion) => completion.id)).toEqual([c.id, a.id]);
    const onlyB = await client.chat.completions.list({ metadata: { ...suite, run: "b" } });
    expect(onlyB.data.map((completion) => completion.id)).toEqual([b.id]);

    const first = await client.chat.completions.list({ metadata: suite, limit: 2 });
    expect(first.has_more).toBe(true);
    expect(sent(first).first_id).toBe(a.id);
    expect(sent(first).last_id).toBe(b.id);
    const rest = await client.chat.completions.list({ metadata: suite, limit: 2, after: sent(first).last_id });
    expect(rest.data.map((completion) => completion.id)).toEqual([c.id]);
    const walked: string[] = [];
    for await (const completion of client.chat.completions.list({ metadata: suite, limit: 1 })) walked.push(completion.id);
    expect(walked).toEqual([a.id, b.id, c.id]);
  });

  test("another owner's stored completions do not exist for it", async () => {
    const mine = await client.chat.completions.create({ model: "text", messages: [user("Hi")], max_tokens: 2, store: true, metadata: { suite: "owner" } });
    for (const attempt of [
      () => other.chat.completions.retrieve(mine.id),
      () => other.chat.completions.update(mine.id, { metadata: { taken: "yes" } }),
      () => other.chat.completions.delete(mine.id),
      () => other.chat.completions.messages.list(mine.id),
    ]) {
      const error = await attempt().catch((err) => err);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.error).toMatchObject({ type: "invalid_request_error", code: "not_found", param: "completion_id" });
    }
    expect((await other.chat.completions.list({ metadata: { suite: "owner" } })).data).toEqual([]);
    expect(stored(await client.chat.completions.retrieve(mine.id)).metadata).toEqual({ suite: "owner" });
  });
});

describe("conversation and store", () => {
  test("`{}` with store starts a conversation; the turns are readable as items and the history is generated from", async () => {
    const first = await chat({ model: "text", messages: [user("Tell me about foxes.")], temperature: 0, conversation: {}, store: true });
    expect(first.status).toBe(200);
    expectValid("CreateChatCompletionResponse", first.json);
    const id = first.json.conversation.id;
    expect(id).toMatch(/^conv_/);
    expect(first.conversationHeader).toBe(id);
    expectValid("ConversationResource", await client.conversations.retrieve(id));
    expect((await items(id)).map(summary)).toEqual([
      ["user", "Tell me about foxes."],
      ["assistant", SCRIPTED.text.content],
    ]);

    // The same question alone, and continuing the conversation: the history is in the prompt.
    const alone = await chat({ model: "text", messages: [user("And badgers?")], temperature: 0 });
    const second = await chat({ model: "text", messages: [user("And badgers?")], temperature: 0, conversation: id, store: true });
    expect(second.json.conversation).toEqual({ id });
    expect(second.conversationHeader).toBe(id);
    expect(second.json.usage.prompt_tokens).toBeGreaterThan(alone.json.usage.prompt_tokens + 10);
    expect((await items(id)).map(summary)).toEqual([
      ["user", "Tell me about foxes."],
      ["assistant", SCRIPTED.text.content],
      ["user", "And badgers?"],
      ["assistant", SCRIPTED.text.content],
    ]);
    // The stored completion is kept too, naming its conversation.
    expect(stored(await client.chat.completions.retrieve(second.json.id)).conversation).toEqual({ id });
  });

  test("items added through the Conversations API are history the model sees", async () => {
    const conversation = await client.conversations.create({
      items: [
        { role: "user", content: "Weather in Paris?" },
        { type: "function_call", call_id: "call_seeded", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call_output", call_id: "call_seeded", output: '{"sky":"sunny"}' },
      ],
    });
    // The tool model answers its sentence only once a tool response is in the prompt; without it, it calls the tool.
    const fresh = await chat({ model: "tool", messages: [user("So?")], tools, temperature: 0 });
    expect(fresh.json.choices[0].finish_reason).toBe("tool_calls");
    const continued = await chat({ model: "tool", messages: [user("So?")], tools, temperature: 0, conversation: { id: conversation.id } });
    expect(continued.status).toBe(200);
    expect(continued.json.choices[0].message.content).toBe(SCRIPTED.tool.answer);
    expect(continued.json.conversation).toEqual({ id: conversation.id });
    expect(continued.conversationHeader).toBe(conversation.id);
    // Without store the conversation is only read.
    expect((await items(conversation.id)).length).toBe(3);
  });

  test("a tool call and its result are kept as function_call and function_call_output items", async () => {
    const asked = await chat({ model: "tool", messages: [user("Weather in Paris?")], tools, temperature: 0, conversation: {}, store: true });
    const id = asked.json.conversation.id;
    const call = asked.json.choices[0].message.tool_calls[0];
    expect((await items(id)).map((item) => item.type)).toEqual(["message", "function_call"]);

    const answered = await chat({ model: "tool", messages: [{ role: "tool", tool_call_id: call.id, content: '{"sky":"sunny"}' }], tools, temperature: 0, conversation: id, store: true });
    expect(answered.status).toBe(200);
    expect(answered.json.choices[0].message.content).toBe(SCRIPTED.tool.answer);
    const kept = await items(id);
    for (const item of kept) expectValid("ConversationItem", item);
    expect(kept.map((item) => item.type)).toEqual(["message", "function_call", "function_call_output", "message"]);
    expect(kept[1]).toMatchObject({ call_id: call.id, name: "get_weather", arguments: call.function.arguments, status: "completed" });
    expect(kept[2]).toMatchObject({ call_id: call.id, output: '{"sky":"sunny"}' });
    expect(summary(kept[3])).toEqual(["assistant", SCRIPTED.tool.answer]);
  });

  test("reasoning is kept only with store_reasoning, in the conversation and the stored completion", async () => {
    const plain = await chat({ model: "think", messages: [user("Hi")], temperature: 0, conversation: {}, store: true });
    expect(plain.json.choices[0].message.reasoning_content).toBe(SCRIPTED.think.reasoning);
    expect((await items(plain.json.conversation.id)).map((item) => item.type)).toEqual(["message", "message"]);
    expect((await client.chat.completions.retrieve(plain.json.id)).choices[0]!.message).not.toHaveProperty("reasoning_content");

    const reasoned = await chat({ model: "think", messages: [user("Hi")], temperature: 0, conversation: {}, store: true, store_reasoning: true });
    const kept = await items(reasoned.json.conversation.id);
    expect(kept.map((item) => item.type)).toEqual(["message", "reasoning", "message"]);
    expectValid("ConversationItem", kept[1]);
    expect(kept[1].content).toEqual([{ type: "reasoning_text", text: SCRIPTED.think.reasoning }]);
    expect(summary(kept[2])).toEqual(["assistant", SCRIPTED.think.content]);
    expect((await client.chat.completions.retrieve(reasoned.json.id)).choices[0]!.message).toMatchObject({ reasoning_content: SCRIPTED.think.reasoning });
  });

  test("without store a conversation is only read; `{}` without store creates none", async () => {
    const conversation = await client.conversations.create({ items: [{ role: "user", content: "Tell me about foxes." }] });
    const read = await chat({ model: "text", messages: [user("More?")], temperature: 0, conversation: { id: conversation.id }, metadata: { suite: "read-only" } });
    expect(read.status).toBe(200);
    expect(read.json.conversation).toEqual({ id: conversation.id });
    expect((await items(conversation.id)).length).toBe(1);
    expect(await client.chat.completions.retrieve(read.json.id).catch((err) => err)).toBeInstanceOf(OpenAI.NotFoundError);

    const none = await chat({ model: "text", messages: [user("Hi")], max_tokens: 2, conversation: {} });
    expect(none.status).toBe(200);
    expect(none.json).not.toHaveProperty("conversation");
    expect(none.conversationHeader).toBeNull();
  });

  test("only the first choice's answer joins the conversation", async () => {
    const answered = await chat({ model: "text", messages: [user("Foxes?")], temperature: 0, n: 2, conversation: {}, store: true });
    expect(answered.json.choices.length).toBe(2);
    expect((await items(answered.json.conversation.id)).map(summary)).toEqual([
      ["user", "Foxes?"],
      ["assistant", SCRIPTED.text.content],
    ]);
    expect((await client.chat.completions.retrieve(answered.json.id)).choices.length).toBe(2);
  });

  test("a conversation that does not exist, or is another owner's, is a 404 naming `conversation`", async () => {
    const theirs = await other.conversations.create({});
    for (const conversation of ["conv_nope", { id: "conv_nope" }, theirs.id, { id: theirs.id }]) {
      const { status, json } = await chat({ model: "text", messages: [user("Hi")], max_tokens: 2, conversation, store: true });
      expect(status).toBe(404);
      expect(json.error).toMatchObject({ type: "invalid_request_error", param: "conversation", code: "not_found" });
    }
    expect((await other.conversations.items.list(theirs.id)).data).toEqual([]);
  });

  test.each([
    ["conversation of the wrong type", { conversation: 5 }, "conversation"],
    ["store of the wrong type", { store: "yes" }, "store"],
    ["store_reasoning of the wrong type", { store_reasoning: 1 }, "store_reasoning"],
    ["17 metadata pairs", { store: true, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
    ["a metadata value over 512 characters", { store: true, metadata: { k: "v".repeat(513) } }, "metadata"],
    ["a function result kept in a conversation", { conversation: {}, store: true, messages: [{ role: "function", name: "f", content: "1" }] }, "messages[0]"],
    ["the deprecated functions kept in a conversation", { conversation: {}, store: true, functions: [{ name: "f" }] }, "functions"],
  ])("%s is a 400", async (_label, fields, param) => {
    const { status, json } = await chat({ model: "text", messages: [user("Hi")], max_tokens: 2, ...fields });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param });
  });
});

describe("streams", () => {
  test("each chunk names the conversation; the turn and the completion are kept once the stream is whole", async () => {
    const { conversationHeader, chunks } = await stream({ model: "text", messages: [user("Foxes?")], temperature: 0, conversation: {}, store: true, store_reasoning: true });
    const id = chunks[0].conversation.id;
    expect(conversationHeader).toBe(id);
    expect(chunks.every((chunk) => chunk.conversation?.id === id)).toBe(true);
    expect((await items(id)).map(summary)).toEqual([
      ["user", "Foxes?"],
      ["assistant", SCRIPTED.text.content],
    ]);
    const stored = await client.chat.completions.retrieve(chunks[0].id);
    expectValid("CreateChatCompletionResponse", stored);
    expect(stored.choices[0]!.message.content).toBe(SCRIPTED.text.content);
    expect(stored.usage!.completion_tokens).toBeGreaterThan(0);
  });

  test("nothing is kept until the stream has ended", async () => {
    const conversation = await client.conversations.create({});
    const res = await post({ model: "endless", messages: [user("hi")], temperature: 0, max_tokens: 40, stream: true, conversation: conversation.id, store: true });
    const reader = res.body!.getReader();
    await reader.read();
    expect(await items(conversation.id)).toEqual([]);
    while (!(await reader.read()).done);
    expect((await items(conversation.id)).map((item) => item.role)).toEqual(["user", "assistant"]);
  });

  test("a client that goes away mid-stream keeps nothing, not even a new conversation", async () => {
    const conversation = await client.conversations.create({});
    const before = (await client.chat.completions.list({ limit: 100, order: "desc" })).data.length;
    for (const ref of [conversation.id, {}]) {
      const controller = new AbortController();
      const res = await post({ model: "endless", messages: [user("hi")], temperature: 0, max_tokens: 30000, stream: true, conversation: ref, store: true }, controller.signal);
      const named = res.headers.get("x-conversation-id")!;
      const reader = res.body!.getReader();
      await reader.read();
      await reader.read();
      controller.abort();
      // Long enough for the server to see the client gone and end the generation.
      await Bun.sleep(1000);
      if (typeof ref === "string") expect(await items(named)).toEqual([]);
      else expect(await client.conversations.retrieve(named).catch((err) => err)).toBeInstanceOf(OpenAI.NotFoundError);
    }
    expect((await client.chat.completions.list({ limit: 100, order: "desc" })).data.length).toBe(before);
  });

  test("a client that hangs up on a non-streamed answer keeps nothing", async () => {
    const conversation = await client.conversations.create({});
    const controller = new AbortController();
    const pending = post({ model: "endless", messages: [user("hi")], temperature: 0, max_tokens: 30000, conversation: conversation.id, store: true }, controller.signal).catch((err) => err);
    await Bun.sleep(1000);
    controller.abort();
    expect((await pending).name).toBe("AbortError");
    await Bun.sleep(1000);
    expect(await items(conversation.id)).toEqual([]);
  });
});
