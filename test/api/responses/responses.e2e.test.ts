import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020.js";
import OpenAI from "openai";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid, expectValidEvent } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";
import { parseResponseStream, postResponses, type StreamEvent } from "./sse.ts";

// The Responses API through the official openai client, unchanged, and raw fetch, against the
// scripted models: `text` answers a fixed sentence, `think` thinks then greets, `tool` calls
// get_weather({"city": "Paris"}) and answers once a tool result is in the context.
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "think", "tool", "text"]), args: ["--ctx-size", "2048", "--parallel", "2"] });
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

async function rawStream(body: object): Promise<StreamEvent[]> {
  const res = await postResponses(server.url, { ...body, stream: true });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  return parseResponseStream(await res.text());
}

async function rawCreate(body: object): Promise<Record<string, any>> {
  const res = await postResponses(server.url, body);
  const json = await res.json();
  expect({ status: res.status, json }).toMatchObject({ status: 200 });
  expectValid("Response", json);
  return json;
}

describe("responses.create", () => {
  test("a string input answers with a message, usage and the request's echoes", async () => {
    const response = await client.responses.create({ model: "text", input: "Tell me about foxes.", temperature: 0, metadata: { run: "1" } });
    expectValid("Response", response);
    expect(response.id).toMatch(/^resp_/);
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.model).toBe("text");
    expect(response.output_text).toBe(SCRIPTED.text.content);
    expect(response.output).toHaveLength(1);
    const message = response.output[0]!;
    expect(message).toMatchObject({ type: "message", id: expect.stringMatching(/^msg_/), role: "assistant", status: "completed" });
    expect((message as { content: unknown[] }).content).toEqual([{ type: "output_text", text: SCRIPTED.text.content, annotations: [], logprobs: [] }]);
    expect(response.metadata).toEqual({ run: "1" });
    expect(response.temperature).toBe(0);
    expect(response.error).toBeNull();
    expect(response.incomplete_details).toBeNull();
    expect(response.previous_response_id).toBeNull();
    expect(response.completed_at).toBeGreaterThanOrEqual(response.created_at);
    const usage = response.usage!;
    expect(usage.input_tokens).toBeGreaterThan(5);
    expect(usage.output_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    expect(usage.input_tokens_details.cached_tokens).toBeLessThan(usage.input_tokens);
    expect(usage.output_tokens_details.reasoning_tokens).toBe(0);
  });

  test("the server sends no output_text: the SDK computes it", async () => {
    const json = await rawCreate({ model: "text", input: "Foxes?", temperature: 0 });
    expect("output_text" in json).toBe(false);
  });

  test("instructions and message items of every role are read; a repeated prompt is cached", async () => {
    const input = [
      { role: "developer" as const, content: "Answer briefly." },
      { role: "system" as const, content: [{ type: "input_text" as const, text: "You are helpful." }] },
      { type: "message" as const, role: "user" as const, content: [{ type: "input_text" as const, text: "Hi" }] },
      { type: "message" as const, role: "assistant" as const, content: [{ type: "output_text" as const, text: "Hello.", annotations: [] }], id: "msg_1", status: "completed" as const },
      { role: "user" as const, content: "Tell me about foxes." },
    ];
    const first = await client.responses.create({ model: "text", instructions: "Be kind.", input, temperature: 0 });
    expectValid("Response", first);
    expect(first.output_text).toBe(SCRIPTED.text.content);
    expect(first.instructions).toBe("Be kind.");
    const second = await client.responses.create({ model: "text", instructions: "Be kind.", input, temperature: 0 });
    expect(second.usage!.input_tokens).toBe(first.usage!.input_tokens);
    expect(second.usage!.input_tokens_details.cached_tokens).toBeGreaterThan(0);
  });

  test("max_output_tokens cuts the answer: status incomplete, reason max_output_tokens", async () => {
    const response = await client.responses.create({ model: "text", input: "Foxes?", max_output_tokens: 3, temperature: 0 });
    expectValid("Response", response);
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(response.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    expect(response.usage!.output_tokens).toBe(3);
    expect(response.max_output_tokens).toBe(3);
  });
});

describe("streaming", () => {
  test("responses.stream gives the events in order and the final response", async () => {
    const stream = client.responses.stream({ model: "text", input: "Foxes?", temperature: 0 });
    const events: StreamEvent[] = [];
    for await (const event of stream) events.push(event as unknown as StreamEvent);
    const final = await stream.finalResponse();
    expectValid("Response", final);
    expect(final.output_text).toBe(SCRIPTED.text.content);
    expect(final.status).toBe("completed");
    for (const event of events) expectValidEvent(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    expect(events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("")).toBe(SCRIPTED.text.content);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });

  test("the raw stream: named events, each valid, numbered in order; the last carries the usage", async () => {
    const events = await rawStream({ model: "text", input: "Foxes?", temperature: 0 });
    const created = events[0]!;
    expect(created.response).toMatchObject({ status: "in_progress", output: [] });
    const completed = events.at(-1)!;
    expect(completed.type).toBe("response.completed");
    expect(completed.response.id).toBe(created.response.id);
    expect(completed.response.usage.output_tokens).toBeGreaterThan(0);
    const done = events.find((e) => e.type === "response.output_text.done")!;
    expect(done.text).toBe(SCRIPTED.text.content);
    const added = events.find((e) => e.type === "response.output_item.added")!;
    expect(added.item).toMatchObject({ type: "message", status: "in_progress", content: [] });
    expect(events.every((e) => e.type !== "response.output_text.delta" || e.item_id === added.item.id)).toBe(true);
  });

  test("a stream cut by max_output_tokens ends with response.incomplete", async () => {
    const events = await rawStream({ model: "text", input: "Foxes?", temperature: 0, max_output_tokens: 2 });
    expect(events.at(-1)!.type).toBe("response.incomplete");
    expect(events.at(-1)!.response.incomplete_details).toEqual({ reason: "max_output_tokens" });
  });
});

describe("reasoning", () => {
  test("the think model's thinking is a reasoning item with reasoning_text before the message", async () => {
    const response = await client.responses.create({ model: "think", input: "Hi", temperature: 0, reasoning: { effort: "high", summary: "auto" } });
    expectValid("Response", response);
    expect(response.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(response.output[0]).toEqual({
      type: "reasoning",
      id: expect.stringMatching(/^rs_/),
      summary: [],
      content: [{ type: "reasoning_text", text: SCRIPTED.think.reasoning }],
      status: "completed",
    });
    expect(response.output_text).toBe(SCRIPTED.think.content);
    expect(response.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(response.reasoning).toEqual({ effort: "high", summary: "auto" });
  });

  test("streamed thinking: reasoning_text deltas, then the message", async () => {
    const events = await rawStream({ model: "think", input: "Hi", temperature: 0 });
    const deltas = events.filter((e) => e.type === "response.reasoning_text.delta");
    expect(deltas.map((e) => e.delta).join("")).toBe(SCRIPTED.think.reasoning);
    expect(events.find((e) => e.type === "response.reasoning_text.done")!.text).toBe(SCRIPTED.think.reasoning);
    const added = events.filter((e) => e.type === "response.output_item.added").map((e) => [e.output_index, e.item.type]);
    expect(added).toEqual([
      [0, "reasoning"],
      [1, "message"],
    ]);
    expect(events.find((e) => e.type === "response.content_part.added")!.part).toEqual({ type: "reasoning_text", text: "" });
    const final = events.at(-1)!.response;
    expect(final.output[0].content[0].text).toBe(SCRIPTED.think.reasoning);
    expect(final.output[1].content[0].text).toBe(SCRIPTED.think.content);
  });

  test("the SDK's stream accumulates the reasoning item", async () => {
    const final = await client.responses.stream({ model: "think", input: "Hi", temperature: 0 }).finalResponse();
    expect((final.output[0] as { content?: Array<{ text: string }> }).content?.[0]?.text).toBe(SCRIPTED.think.reasoning);
    expect(final.output_text).toBe(SCRIPTED.think.content);
  });

  test.each(["low", "minimal", "none"] as const)("reasoning.effort %s switches thinking off", async (effort) => {
    const response = await client.responses.create({ model: "think", input: "Hi", temperature: 0, reasoning: { effort } });
    expectValid("Response", response);
    expect(response.output.map((item) => item.type)).toEqual(["message"]);
    expect(response.output_text).toBe(SCRIPTED.think.content);
  });

  test('include ["reasoning.encrypted_content"] returns the thinking to send back statelessly', async () => {
    const response = await client.responses.create({ model: "think", input: "Hi", temperature: 0, store: false, include: ["reasoning.encrypted_content"] });
    expectValid("Response", response);
    expect((response as { store?: boolean }).store).toBe(false);
    const reasoning = response.output[0] as { encrypted_content?: string };
    expect(reasoning.encrypted_content).toEqual(expect.any(String));
    // Sent back without its text (as Codex CLI does), the thinking is still part of the prompt.
    const turn = (withReasoning: boolean) => [
      { role: "user", content: "Weather in Paris?" },
      ...(withReasoning ? [{ type: "reasoning", id: "rs_1", summary: [], encrypted_content: reasoning.encrypted_content }] : []),
      { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "function_call_output", call_id: "call_1", output: "sunny" },
    ];
    const count = async (input: unknown) => (await (await postResponses(server.url, { model: "think", input, tools: [weatherTool] }, { path: "/v1/responses/input_tokens" })).json()).input_tokens;
    expect(await count(turn(true))).toBeGreaterThan(await count(turn(false)));
  });
});

describe("function calling", () => {
  test("a round trip: the function_call, then its function_call_output, then the answer", async () => {
    const tools = [weatherTool, { type: "web_search" as const }];
    const first = await client.responses.create({ model: "tool", input: "Weather in Paris?", tools, temperature: 0 });
    expectValid("Response", first);
    expect(first.status).toBe("completed");
    const call = first.output.find((item) => item.type === "function_call")!;
    // A copy: bun's toMatchObject writes its matchers into the object it checks.
    expect(structuredClone(call)).toMatchObject({ type: "function_call", id: expect.stringMatching(/^fc_/), call_id: expect.stringMatching(/^call_/), name: SCRIPTED.tool.name, status: "completed" });
    expect(JSON.parse((call as { arguments: string }).arguments)).toEqual(SCRIPTED.tool.arguments);
    // Only the function tools Hearth offered the model are echoed.
    expect(first.tools).toEqual([{ ...weatherTool }]);
    const second = await client.responses.create({
      model: "tool",
      tools,
      temperature: 0,
      input: [
        { role: "user", content: "Weather in Paris?" },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: "function_call_output", call_id: (call as { call_id: string }).call_id, output: '{"temperature":21}' },
      ],
    });
    expectValid("Response", second);
    expect(second.output_text).toBe(SCRIPTED.tool.answer);
  });

  test("a streamed call: output_item.added, the arguments delta and done, output_item.done", async () => {
    const events = await rawStream({ model: "tool", input: "Weather in Paris?", tools: [weatherTool], temperature: 0 });
    const types = events.map((e) => e.type);
    const at = types.indexOf("response.function_call_arguments.delta");
    expect(types.slice(at - 1, at + 3)).toEqual(["response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done"]);
    expect(events[at - 1]!.item).toMatchObject({ type: "function_call", name: "get_weather", arguments: "", status: "in_progress" });
    expect(JSON.parse(events[at + 1]!.arguments)).toEqual(SCRIPTED.tool.arguments);
    expect(events[at + 1]!.name).toBe("get_weather");
    expect(events.at(-1)!.response.output.at(-1)).toMatchObject({ type: "function_call", status: "completed" });
    const final = await client.responses.stream({ model: "tool", input: "Weather in Paris?", tools: [weatherTool], temperature: 0 }).finalResponse();
    expect(JSON.parse((final.output.find((i) => i.type === "function_call") as { arguments: string }).arguments)).toEqual(SCRIPTED.tool.arguments);
  });

  test("tool_choice required and a named function force the call; none answers without one", async () => {
    for (const tool_choice of ["required", { type: "function", name: "get_weather" }] as const) {
      const response = await client.responses.create({ model: "tool", input: "Hi", tools: [weatherTool], tool_choice, temperature: 0 });
      expectValid("Response", response);
      expect(response.output.some((item) => item.type === "function_call")).toBe(true);
      expect(response.tool_choice).toEqual(tool_choice);
    }
    const none = await client.responses.create({ model: "text", input: "Foxes?", tools: [weatherTool], tool_choice: "none", temperature: 0 });
    expect(none.output_text).toBe(SCRIPTED.text.content);
  });

  test("parallel_tool_calls false is echoed", async () => {
    const response = await client.responses.create({ model: "tool", input: "Weather?", tools: [weatherTool], parallel_tool_calls: false, temperature: 0 });
    expect(response.parallel_tool_calls).toBe(false);
    expect(response.output.filter((item) => item.type === "function_call")).toHaveLength(1);
  });
});

describe("text.format", () => {
  const schema = {
    type: "object",
    properties: { n: { type: "integer", minimum: 1, maximum: 9 }, ok: { type: "boolean" }, color: { enum: ["red", "green"] } },
    required: ["n", "ok", "color"],
    additionalProperties: false,
  };
  const validate = new Ajv2020({ strict: false }).compile(schema);

  test("json_schema answers are valid against the schema, streamed or not", async () => {
    const text = { format: { type: "json_schema" as const, name: "answer", schema, strict: true } };
    const response = await client.responses.create({ model: "tiny", input: "Tell me a story.", text, temperature: 0, max_output_tokens: 200 });
    expectValid("Response", response);
    expect(response.status).toBe("completed");
    expect(response.text!.format).toEqual(text.format);
    const value = JSON.parse(response.output_text);
    expect({ value, errors: validate(value) ? null : validate.errors }).toEqual({ value, errors: null });
    const streamed = await client.responses.stream({ model: "tiny", input: "Tell me a story.", text, temperature: 0, max_output_tokens: 200 }).finalResponse();
    expect(validate(JSON.parse(streamed.output_text))).toBe(true);
  });

  test("json_object answers are a JSON object", async () => {
    const response = await client.responses.create({ model: "tiny", input: "JSON please.", text: { format: { type: "json_object" } }, temperature: 0, max_output_tokens: 300 });
    if (response.status === "completed") expect(typeof JSON.parse(response.output_text)).toBe("object");
  });

  test("a keyword no grammar can enforce is a 400 naming text.format.schema", async () => {
    const bad = { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, dependentRequired: { a: ["b"] } };
    const err = await client.responses.create({ model: "tiny", input: "x", text: { format: { type: "json_schema", name: "x", schema: bad } } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("text.format.schema");
    expect(err.message).toContain("dependentRequired");
  });

  test("text.format with function tools is a 400 naming text.format", async () => {
    const err = await client.responses
      .create({ model: "tool", input: "x", tools: [weatherTool], text: { format: { type: "json_object" } } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("text.format");
  });
});

describe("logprobs", () => {
  test('include ["message.output_text.logprobs"] with top_logprobs fills the output_text logprobs', async () => {
    const response = await client.responses.create({ model: "text", input: "Foxes?", temperature: 0, include: ["message.output_text.logprobs"], top_logprobs: 2 });
    expectValid("Response", response);
    const part = (response.output[0] as { content: Array<{ logprobs: Array<{ token: string; top_logprobs: unknown[] }> }> }).content[0]!;
    expect(part.logprobs.map((l) => l.token).join("")).toBe(SCRIPTED.text.content);
    expect(part.logprobs.every((l) => l.top_logprobs.length === 2)).toBe(true);
    const events = await rawStream({ model: "text", input: "Foxes?", temperature: 0, include: ["message.output_text.logprobs"] });
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    expect(deltas.flatMap((e) => e.logprobs).map((l: { token: string }) => l.token).join("")).toBe(SCRIPTED.text.content);
  });
});

describe("input_tokens", () => {
  test("equals the usage.input_tokens of the same request, tools and instructions included", async () => {
    const body = {
      model: "tool",
      instructions: "You are a weather bot.",
      input: [{ role: "user" as const, content: "Weather in Paris?" }],
      tools: [weatherTool, { type: "web_search" as const }],
      temperature: 0,
    };
    const counted = await client.responses.inputTokens.count(body);
    expectValid("TokenCountsResource", counted);
    expect(counted.object).toBe("response.input_tokens");
    const response = await client.responses.create(body);
    expect(counted.input_tokens).toBe(response.usage!.input_tokens);
    // tool_choice required renders differently: counted the same way.
    const forced = { ...body, tool_choice: "required" as const };
    expect((await client.responses.inputTokens.count(forced)).input_tokens).toBe((await client.responses.create(forced)).usage!.input_tokens);
  });

  test("the think model with thinking off, and a plain string", async () => {
    for (const body of [
      { model: "think", input: "Hi", reasoning: { effort: "low" as const } },
      { model: "text", input: "Tell me about foxes." },
    ]) {
      const counted = await client.responses.inputTokens.count(body);
      expect(counted.input_tokens).toBe((await client.responses.create({ ...body, temperature: 0 })).usage!.input_tokens);
    }
  });

  test("errors like /v1/responses: an unknown model is a 404", async () => {
    const res = await postResponses(server.url, { model: "nope", input: "x" }, { path: "/v1/responses/input_tokens" });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatchObject({ code: "model_not_found", param: "model" });
  });
});

describe("errors", () => {
  async function expectError(body: object, param: string | null, status = 400): Promise<{ message: string; type: string; code: string | null }> {
    const res = await postResponses(server.url, body);
    const json = await res.json();
    expect({ status: res.status, param: json.error?.param }).toEqual({ status, param });
    expect(json).toEqual({ error: { message: expect.any(String), type: expect.any(String), param, code: json.error.code }, code: expect.anything(), message: expect.any(String), request_id: expect.any(String) });
    return json.error;
  }

  test("background and stored prompts are a 400 naming them", async () => {
    const error = await expectError({ model: "text", input: "Hi", background: true }, "background");
    expect(error.type).toBe("invalid_request_error");
    await expectError({ model: "text", input: "Hi", prompt: { id: "pmpt_1" } }, "prompt");
    const err = await client.responses.create({ model: "text", input: "Hi", background: true }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("background");
  });

  test("a wrong type names the field", async () => {
    await expectError({ model: "text", input: "Hi", temperature: "warm" }, "temperature");
    await expectError({ model: "text", input: [{ role: "user", content: 42 }] }, "input[0].content");
    await expectError({ model: "text", input: [{ type: "item_reference", id: "msg_1" }] }, "input[0].type");
    await expectError({ model: "text", input: "Hi", tools: [{ type: "function", parameters: {} }] }, "tools[0].name");
    await expectError({ model: "text", input: "Hi", reasoning: { effort: "extreme" } }, "reasoning.effort");
    await expectError({ input: "Hi" }, "model");
  });

  test("what cannot be answered names the item", async () => {
    await expectError({ model: "text", input: [{ role: "user", content: "Hi" }, { type: "function_call_output", call_id: "call_x", output: "1" }] }, "input[1].call_id");
    await expectError({ model: "text", input: [{ type: "function_call", call_id: "c", name: "f", arguments: "{nope" }] }, "input[0].arguments");
    await expectError({ model: "text", input: [{ role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,AA==" }] }] }, "input[0].content[0]");
    await expectError({ model: "tool", input: "Hi", tools: [weatherTool], tool_choice: { type: "function", name: "nope" } }, "tool_choice");
    await expectError({ model: "tool", input: "Hi", tools: [{ type: "web_search" }], tool_choice: "required" }, "tool_choice");
    const long = await expectError({ model: "tiny", input: "word ".repeat(3000) }, "messages");
    expect(long.code).toBe("context_length_exceeded");
  });

  test("an unknown model is a 404 in OpenAI's shape", async () => {
    const err = await client.responses.create({ model: "no-such-model", input: "hi" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("model_not_found");
  });
});

describe("metrics and the request log", () => {
  test("the routes are counted and logged by their pattern", async () => {
    await client.responses.create({ model: "text", input: "Foxes?", temperature: 0 });
    await client.responses.inputTokens.count({ model: "text", input: "Foxes?" });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/hearth_http_requests_total\{[^}]*route="\/v1\/responses"[^}]*\} [1-9]/);
    expect(metrics).toContain('route="/v1/responses/input_tokens"');
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    const logged = lines.filter((line) => line.route === "/v1/responses" && line.status === 200);
    expect(logged.at(-1)).toMatchObject({ method: "POST", model: "text", prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
  });
});
