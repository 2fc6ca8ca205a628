import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["tiny", "think", "tool", "text"]);
  server = await startServer({ models, args: ["--ctx-size", "1024", "--parallel", "2"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const user = (content: string) => [{ role: "user" as const, content }];

async function rawSse(body: object): Promise<{ status: number; contentType: string | null; events: string[] }> {
  const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type"), events: text.split("\n\n").filter(Boolean) };
}

describe("startup and listing", () => {
  test("the startup line names the backend and the models found", () => {
    expect(server.output()).toMatch(/backend CPU \(\d+ threads\)/);
    expect(server.output()).toContain("models: text, think, tiny, tool");
  });

  test("GET /v1/models lists every GGUF with context length and capabilities", async () => {
    const page = await client.models.list();
    const byId = Object.fromEntries(page.data.map((m) => [m.id, m as unknown as Record<string, unknown>]));
    expect(Object.keys(byId).sort()).toEqual(["text", "think", "tiny", "tool"]);
    expect(byId.think!.object).toBe("model");
    expect(byId.think!.context_length).toBeGreaterThanOrEqual(4096);
    expect(byId.think!.capabilities).toEqual(expect.arrayContaining(["completion", "tools", "thinking"]));
    expectValid("ListModelsResponse", await (await fetch(`${server.url}/v1/models`)).json());
  });

  test("GET /health", async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" });
  });
});

describe("real inference", () => {
  test("a random-weight model generates text with usage and timings", async () => {
    const completion = await client.chat.completions.create({ model: "tiny", messages: user("Say something."), max_tokens: 8, temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    const choice = completion.choices[0]!;
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("tiny");
    expect(choice.message.role).toBe("assistant");
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(8);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    expect(["stop", "length"]).toContain(choice.finish_reason);
  });

  test("greedy decoding is deterministic", async () => {
    const ask = () => client.chat.completions.create({ model: "tiny", messages: user("Repeat after me."), max_tokens: 12, temperature: 0 });
    const [a, b] = [await ask(), await ask()];
    expectValid("CreateChatCompletionResponse", a);
    expectValid("CreateChatCompletionResponse", b);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
  });

  test("the scripted text model answers its exact sentence", async () => {
    const completion = await client.chat.completions.create({ model: "text", messages: user("Tell me about foxes."), temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.text.content);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });

  test("stop sequences end the answer before the stop text", async () => {
    const completion = await client.chat.completions.create({ model: "text", messages: user("Foxes?"), stop: ["fox"], temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.text.content.slice(0, SCRIPTED.text.content.indexOf("fox")));
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });

  test("max_tokens cuts the answer with finish_reason length", async () => {
    const completion = await client.chat.completions.create({ model: "text", messages: user("Foxes?"), max_tokens: 3, temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    const content = completion.choices[0]!.message.content!;
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage!.completion_tokens).toBe(3);
    expect(SCRIPTED.text.content.startsWith(content)).toBe(true);
    expect(content.length).toBeLessThan(SCRIPTED.text.content.length);
  });
});

describe("reasoning", () => {
  test("thinking is separated into reasoning_content and reasoning, never left in content", async () => {
    const completion = await client.chat.completions.create({ model: "think", messages: user("Hi"), temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    const message = completion.choices[0]!.message as typeof completion.choices[0]["message"] & { reasoning_content?: string; reasoning?: string };
    expect(message.content).toBe(SCRIPTED.think.content);
    expect(message.reasoning_content).toBe(SCRIPTED.think.reasoning);
    expect(message.reasoning).toBe(SCRIPTED.think.reasoning);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect((completion.usage as unknown as { completion_tokens_details: { reasoning_tokens: number } }).completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });

  test.each([
    ["reasoning_effort low", { reasoning_effort: "low" }],
    ["reasoning.effort off", { reasoning: { effort: "off" } }],
    ["chat_template_kwargs.enable_thinking false", { chat_template_kwargs: { enable_thinking: false } }],
    ["enable_thinking false", { enable_thinking: false }],
  ])("%s switches thinking off", async (_label, fields) => {
    const completion = await client.chat.completions.create({ model: "think", messages: user("Hi"), temperature: 0, ...(fields as object) });
    expectValid("CreateChatCompletionResponse", completion);
    const message = completion.choices[0]!.message as { content: string | null; reasoning_content?: string };
    expect(message.content).toBe(SCRIPTED.think.content);
    expect(message.reasoning_content).toBeUndefined();
  });

  test("reasoning_effort high keeps thinking on", async () => {
    const completion = await client.chat.completions.create({ model: "think", messages: user("Hi"), temperature: 0, reasoning_effort: "high" });
    expectValid("CreateChatCompletionResponse", completion);
    expect((completion.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe(SCRIPTED.think.reasoning);
  });

  test("streamed thinking arrives as reasoning deltas before the content deltas", async () => {
    const stream = await client.chat.completions.create({ model: "think", messages: user("Hi"), temperature: 0, stream: true });
    let reasoning = "";
    let content = "";
    let contentBeforeReasoning = false;
    for await (const chunk of stream) {
      expectValid("CreateChatCompletionStreamResponse", chunk);
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      if (delta?.reasoning_content) {
        if (content) contentBeforeReasoning = true;
        reasoning += delta.reasoning_content;
      }
      if (delta?.content) content += delta.content;
    }
    expect(reasoning).toBe(SCRIPTED.think.reasoning);
    expect(content).toBe(SCRIPTED.think.content);
    expect(contentBeforeReasoning).toBe(false);
  });
});

describe("tools", () => {
  const tools = [
    {
      type: "function" as const,
      function: { name: "get_weather", description: "Current weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
    },
  ];

  test("a tool call is parsed into tool_calls with JSON arguments", async () => {
    const completion = await client.chat.completions.create({ model: "tool", messages: user("Weather in Paris?"), tools, temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]! as { id: string; type: string; function: { name: string; arguments: string } };
    expect(call.id).toMatch(/^call_/);
    expect(call.type).toBe("function");
    expect(call.function.name).toBe(SCRIPTED.tool.name);
    expect(JSON.parse(call.function.arguments)).toEqual(SCRIPTED.tool.arguments);
  });

  test("a streamed tool call carries index, id, type and name", async () => {
    const stream = await client.chat.completions.create({ model: "tool", messages: user("Weather in Paris?"), tools, temperature: 0, stream: true });
    const calls: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      expectValid("CreateChatCompletionStreamResponse", chunk);
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather" } });
    expect(JSON.parse(calls.map((c) => c.function?.arguments ?? "").join(""))).toEqual(SCRIPTED.tool.arguments);
  });

  test("a tool result in history is accepted and the conversation continues", async () => {
    const completion = await client.chat.completions.create({
      model: "text",
      temperature: 0,
      tools,
      tool_choice: "none",
      messages: [
        ...user("Weather in Paris?"),
        { role: "assistant", content: null, tool_calls: [{ id: "call_abc", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_abc", content: '{"temperature":21}' },
      ],
    });
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.text.content);
  });
});

describe("streaming wire format", () => {
  test("SSE: role first, an empty final delta with finish_reason, the usage chunk, then [DONE]", async () => {
    const { status, contentType, events } = await rawSse({ model: "text", messages: user("Foxes?"), temperature: 0, stream_options: { include_usage: true } });
    expect(status).toBe(200);
    expect(contentType).toStartWith("text/event-stream");
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    for (const chunk of chunks) expectValid("CreateChatCompletionStreamResponse", chunk);
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const last = chunks.at(-2);
    expect(last.choices[0].delta).toEqual({});
    expect(last.choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(SCRIPTED.text.content);
  });

  test("without include_usage no usage chunk is sent", async () => {
    const { events } = await rawSse({ model: "text", messages: user("Foxes?"), temperature: 0 });
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    for (const chunk of chunks) expectValid("CreateChatCompletionStreamResponse", chunk);
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
  });
});

describe("errors", () => {
  test("a wrong type is a 400 in OpenAI's shape naming the field", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], temperature: "warm" }),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toEqual({ error: { message: expect.stringContaining("temperature"), type: "invalid_request_error", param: "temperature", code: "invalid_value" }, code: expect.anything(), message: expect.any(String), request_id: expect.any(String) });
  });

  test("the openai client sees BadRequestError with param for a malformed message", async () => {
    const err = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: 42 as unknown as string }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("messages[0].content");
  });

  test("invalid JSON is a 400, not a 500", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(res.status).toBe(400);
    expect((await res.json()).error.type).toBe("invalid_request_error");
  });

  test("an unknown model is a 404 with code model_not_found", async () => {
    const err = await client.chat.completions.create({ model: "no-such-model", messages: user("hi") }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("model_not_found");
    expect(err.param).toBe("model");
  });

  test("a prompt longer than the context is a 400 context_length_exceeded, not truncated", async () => {
    const err = await client.chat.completions.create({ model: "tiny", messages: user("word ".repeat(3000)) }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe("context_length_exceeded");
    expect(err.message).toContain("1024");
  });

  test("a 10 MB message is refused as longer than the context at once, not tokenized for seconds", async () => {
    const started = performance.now();
    const err = await client.chat.completions.create({ model: "tiny", messages: user("x".repeat(10 * 2 ** 20)) }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({ code: "context_length_exceeded", param: "messages", message: expect.stringMatching(/^This model's maximum context length is 1024 tokens, but the prompt is at least \d+ tokens long\.$/) });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("image content is refused with a clear 400", async () => {
    const err = await client.chat.completions
      .create({ model: "tiny", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain("does not support image input");
  });

  test("the server survived all of the above", async () => {
    const completion = await client.chat.completions.create({ model: "text", messages: user("Still there?"), temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.text.content);
  });
});
