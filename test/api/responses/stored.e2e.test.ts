import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";
import { parseResponseStream, postResponses } from "./sse.ts";

// Stored responses through the official openai client: kept by default, read back, listed,
// deleted, continued with previous_response_id or a conversation. The scripted models answer
// whatever they are asked (`text` a fixed sentence, `tool` a get_weather call, then its answer once
// the call's output is in the context), so what proves the history was read is the prompt's
// token count, compared with the same conversation sent whole.
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  // One sequence: a request after a cancelled one runs only once the cancelled one has let go.
  server = await startServer({ models: await modelsFolder(["text", "tool", "endless"]), args: ["--ctx-size", "8192", "--parallel", "1"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true,
};

type Input = OpenAI.Responses.ResponseInputItem[];

/** Output items sent back as input, as a stateless client does. */
const asInput = (items: unknown[]): Input => items as Input;

/** The SDK's Response type has no `store`, which the API sends. */
const stored = (response: OpenAI.Responses.Response) => (response as { store?: boolean }).store;

async function notFound(promise: Promise<unknown>, param: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  expect({ code: err.code, param: err.param, type: err.type }).toEqual({ code: "not_found", param, type: "invalid_request_error" });
}

async function badRequest(promise: Promise<unknown>, param: string): Promise<InstanceType<typeof OpenAI.BadRequestError>> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  expect(err.param).toBe(param);
  return err;
}

describe("store", () => {
  test("a response is kept by default: retrieved as it was answered, its input items listed with ids", async () => {
    const created = await client.responses.create({ model: "text", input: "Tell me about foxes.", instructions: "Be kind.", temperature: 0, metadata: { run: "1" } });
    expect(stored(created)).toBe(true);
    expect(created.conversation).toBeNull();
    const retrieved = await client.responses.retrieve(created.id);
    expectValid("Response", retrieved);
    expect(retrieved).toEqual(created);
    expect(retrieved.output_text).toBe(SCRIPTED.text.content);
    const items = await client.responses.inputItems.list(created.id);
    expectValid("ResponseItemList", { object: "list", data: items.data, first_id: items.data[0]!.id, last_id: items.data.at(-1)!.id, has_more: items.has_more });
    expect(items.data).toEqual([{ type: "message", id: expect.stringMatching(/^msg_/), role: "user", status: "completed", content: [{ type: "input_text", text: "Tell me about foxes." }] }]);
  });

  test("the raw list: object, first_id, last_id, has_more", async () => {
    const created = await client.responses.create({ model: "text", input: [{ role: "user", content: "Hi", id: "msg_mine" }], temperature: 0 });
    const res = await fetch(`${server.url}/v1/responses/${created.id}/input_items`);
    const list = await res.json();
    expectValid("ResponseItemList", list);
    expect(list).toMatchObject({ object: "list", first_id: "msg_mine", last_id: "msg_mine", has_more: false });
  });

  test("store: false keeps nothing: it cannot be retrieved, listed or continued", async () => {
    const created = await client.responses.create({ model: "text", input: "Foxes?", store: false, temperature: 0 });
    expect(stored(created)).toBe(false);
    await notFound(client.responses.retrieve(created.id), "response_id");
    await notFound(client.responses.inputItems.list(created.id), "response_id");
    await notFound(client.responses.create({ model: "text", input: "More?", previous_response_id: created.id }), "previous_response_id");
  });

  test("deleted, a response is gone: OpenAI's delete body, then 404s", async () => {
    const created = await client.responses.create({ model: "text", input: "Foxes?", temperature: 0 });
    const res = await fetch(`${server.url}/v1/responses/${created.id}`, { method: "DELETE" });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { id: created.id, object: "response", deleted: true } });
    await notFound(client.responses.retrieve(created.id), "response_id");
    await notFound(client.responses.delete(created.id), "response_id");
    const second = await client.responses.create({ model: "text", input: "Foxes?", temperature: 0 });
    await client.responses.delete(second.id);
    await notFound(client.responses.retrieve(second.id), "response_id");
  });
});

describe("previous_response_id", () => {
  test("the previous response's items come first: its function call is answered in the next turn", async () => {
    const first = await client.responses.create({ model: "tool", input: "Weather in Paris?", tools: [weatherTool], temperature: 0 });
    const call = first.output.find((item) => item.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    const output = { type: "function_call_output" as const, call_id: call.call_id, output: '{"temperature":21}' };
    const second = await client.responses.create({ model: "tool", previous_response_id: first.id, input: [output], tools: [weatherTool], temperature: 0 });
    expectValid("Response", second);
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(SCRIPTED.tool.answer);
    // The same conversation sent whole is the same prompt, counted either way.
    const whole = { model: "tool", tools: [weatherTool], input: [{ role: "user" as const, content: "Weather in Paris?" }, ...asInput(first.output), output] };
    expect(second.usage!.input_tokens).toBe((await client.responses.inputTokens.count(whole)).input_tokens);
    expect((await client.responses.inputTokens.count({ model: "tool", tools: [weatherTool], previous_response_id: first.id, input: [output] })).input_tokens).toBe(second.usage!.input_tokens);
  });

  test("a chain of three: each turn reads every turn before it; instructions are not carried over", async () => {
    const first = await client.responses.create({ model: "text", instructions: "Be kind.", input: "Hi", temperature: 0 });
    const second = await client.responses.create({ model: "text", previous_response_id: first.id, input: "Tell me more.", temperature: 0 });
    const third = await client.responses.create({ model: "text", previous_response_id: second.id, input: [{ role: "user", content: "And more?" }], temperature: 0 });
    expect(second.instructions).toBeNull();
    const user = (content: string) => ({ role: "user" as const, content });
    const count = async (input: Input) => (await client.responses.inputTokens.count({ model: "text", input })).input_tokens;
    const history = [user("Hi"), ...asInput(first.output), user("Tell me more."), ...asInput(second.output)];
    expect(second.usage!.input_tokens).toBe(await count(history.slice(0, 3)));
    expect(third.usage!.input_tokens).toBe(await count([...history, user("And more?")]));
    expect(third.usage!.input_tokens).toBeGreaterThan(second.usage!.input_tokens);

    // Its input items are the whole chain, newest first by default, paged by the SDK.
    const listed: OpenAI.Responses.ResponseItem[] = [];
    for await (const item of client.responses.inputItems.list(third.id, { limit: 2 })) listed.push(item);
    const texts = listed.map((item) => (item as { content: Array<{ text: string }> }).content[0]!.text);
    expect(texts).toEqual(["And more?", SCRIPTED.text.content, "Tell me more.", SCRIPTED.text.content, "Hi"]);
    expect(listed[1]!.id).toBe(second.output[0]!.id!);
    expect(new Set(listed.map((item) => item.id)).size).toBe(5);
    const asc = await client.responses.inputItems.list(third.id, { order: "asc", limit: 3 });
    expect(asc.data.map((item) => item.id)).toEqual(listed.slice(2).reverse().map((item) => item.id));
    expect(asc.has_more).toBe(true);

    // Deleting a response in the middle leaves the later ones whole.
    await client.responses.delete(second.id);
    const fourth = await client.responses.create({ model: "text", previous_response_id: third.id, input: "Last one.", temperature: 0 });
    expect(fourth.usage!.input_tokens).toBe(await count([...history, user("And more?"), ...asInput(third.output), user("Last one.")]));
    await notFound(client.responses.create({ model: "text", previous_response_id: second.id, input: "x" }), "previous_response_id");
  });

  test("an item sent back while continuing the response that produced it is a duplicate", async () => {
    const first = await client.responses.create({ model: "text", input: "Hi", temperature: 0 });
    const err = await badRequest(client.responses.create({ model: "text", previous_response_id: first.id, input: [...asInput(first.output), { role: "user", content: "Again" }] }), "input[0].id");
    expect(err.message).toContain("Duplicate item");
  });
});

describe("streaming", () => {
  test("a streamed response is stored once finished, as its last event carries it, and not before", async () => {
    // Long enough to be still generating when the GET comes: the server sends events as fast as the socket takes them.
    const res = await postResponses(server.url, { model: "endless", input: "hi", max_output_tokens: 300, temperature: 0, stream: true });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("response.output_text.delta")) text += decoder.decode((await reader.read()).value, { stream: true });
    const id = parseResponseStream(text.slice(0, text.lastIndexOf("\n\n") + 2))[0]!.response.id;
    await notFound(client.responses.retrieve(id), "response_id");
    for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
    const last = parseResponseStream(text).at(-1)!;
    expect(last.type).toBe("response.incomplete");
    expect(await (await fetch(`${server.url}/v1/responses/${id}`)).json()).toEqual(last.response);
  });

  test("a client that hangs up mid-answer leaves nothing stored", async () => {
    const controller = new AbortController();
    const res = await postResponses(server.url, { model: "endless", input: "hi", max_output_tokens: 4000, temperature: 0, stream: true }, { signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("response.output_text.delta")) text += decoder.decode((await reader.read()).value, { stream: true });
    const id = parseResponseStream(text.slice(0, text.lastIndexOf("\n\n") + 2))[0]!.response.id;
    controller.abort();
    // With one sequence, this answer comes only once the cancelled one has ended.
    expect((await client.responses.create({ model: "endless", input: "hi", max_output_tokens: 2, temperature: 0 })).status).toBe("incomplete");
    await notFound(client.responses.retrieve(id), "response_id");
  });

  test("a response cut by max_output_tokens is stored, incomplete", async () => {
    const created = await client.responses.create({ model: "text", input: "Foxes?", max_output_tokens: 2, temperature: 0 });
    expect(created.status).toBe("incomplete");
    expect(await client.responses.retrieve(created.id)).toEqual(created);
  });
});

describe("errors", () => {
  test("unknown ids are 404s naming the parameter", async () => {
    await notFound(client.responses.retrieve("resp_nope"), "response_id");
    await notFound(client.responses.delete("resp_nope"), "response_id");
    await notFound(client.responses.inputItems.list("resp_nope"), "response_id");
    await notFound(client.responses.create({ model: "text", input: "Hi", previous_response_id: "resp_nope" }), "previous_response_id");
    await notFound(client.responses.create({ model: "text", input: "Hi", conversation: "conv_nope" }), "conversation");
    await notFound(client.responses.create({ model: "text", input: "Hi", conversation: { id: "conv_nope" } }), "conversation");
    await notFound(client.responses.inputTokens.count({ model: "text", input: "Hi", previous_response_id: "resp_nope" }), "previous_response_id");
    const created = await client.responses.create({ model: "text", input: "Hi", temperature: 0 });
    await notFound(client.responses.inputItems.list(created.id, { after: "msg_nope" }), "after");
  });

  test("what cannot be done is a 400 naming the field", async () => {
    const created = await client.responses.create({ model: "text", input: "Hi", temperature: 0 });
    await badRequest(client.responses.create({ model: "text", input: "Hi", previous_response_id: created.id, conversation: "conv_1" }), "conversation");
    await badRequest(client.responses.inputItems.list(created.id, { limit: 0 }), "limit");
    await badRequest(client.responses.inputItems.list(created.id, { limit: 101 }), "limit");
    await badRequest(client.responses.inputItems.list(created.id, { order: "up" as "asc" }), "order");
    const res = await fetch(`${server.url}/v1/responses/${created.id}?stream=true`);
    expect({ status: res.status, param: (await res.json()).error.param }).toEqual({ status: 400, param: "stream" });
  });
});

describe("conversation", () => {
  test("its items come first; the input and output are appended to it; store false appends nothing", async () => {
    const conversation = await client.conversations.create({ items: [{ type: "message", role: "user", content: "Weather in Paris?" }] });
    const first = await client.responses.create({ model: "tool", conversation: conversation.id, input: [], tools: [weatherTool], temperature: 0 });
    expectValid("Response", first);
    expect(first.conversation).toEqual({ id: conversation.id });
    const call = first.output.find((item) => item.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    const output = { type: "function_call_output" as const, call_id: call.call_id, output: '{"temperature":21}' };
    const second = await client.responses.create({ model: "tool", conversation: { id: conversation.id }, input: [output], tools: [weatherTool], temperature: 0 });
    expect(second.output_text).toBe(SCRIPTED.tool.answer);
    const whole = { model: "tool", tools: [weatherTool], input: [{ role: "user" as const, content: "Weather in Paris?" }, ...asInput(first.output), output] };
    expect(second.usage!.input_tokens).toBe((await client.responses.inputTokens.count(whole)).input_tokens);

    const items = async () => {
      const page = await client.conversations.items.list(conversation.id, { order: "asc", limit: 100 });
      return page.data.map((item) => item.type);
    };
    expect(await items()).toEqual(["message", "function_call", "function_call_output", "message"]);
    // The response's input items are everything it read: the conversation's, then its own.
    const listed = await client.responses.inputItems.list(second.id, { order: "asc" });
    expect(listed.data.map((item) => item.type)).toEqual(["message", "function_call", "function_call_output"]);

    const unkept = await client.responses.create({ model: "text", conversation: conversation.id, input: "And tomorrow?", store: false, temperature: 0 });
    expect(stored(unkept)).toBe(false);
    expect(await items()).toEqual(["message", "function_call", "function_call_output", "message"]);
  });
});
