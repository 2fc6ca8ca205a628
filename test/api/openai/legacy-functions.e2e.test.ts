import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { WEATHER_TOOL } from "../../support/fixtures.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// OpenAI's deprecated function calling, as older clients still send it: `functions` and
// `function_call` in, `message.function_call` and finish_reason "function_call" out.

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["tool", "text", "tiny"]);
  server = await startServer({ models, args: ["--ctx-size", "1024", "--parallel", "2"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const functions = [WEATHER_TOOL.function];
const ask: ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
type Params = Omit<ChatCompletionCreateParamsNonStreaming, "stream">;
const request = (fields: Partial<Params> = {}): Params => ({
  model: "tool",
  messages: ask,
  functions,
  temperature: 0,
  ...fields,
});

describe("a function call is answered in the legacy shape", () => {
  test.each([
    ["function_call left out (auto)", {}],
    ["function_call: auto", { function_call: "auto" as const }],
    ["function_call: {name}", { function_call: { name: "get_weather" } }],
  ])("%s", async (_label, fields) => {
    const completion = await client.chat.completions.create(request(fields));
    expectValid("CreateChatCompletionResponse", completion);
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("function_call");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toBeUndefined();
    expect(choice.message.function_call!.name).toBe(SCRIPTED.tool.name);
    expect(JSON.parse(choice.message.function_call!.arguments)).toEqual(SCRIPTED.tool.arguments);
  });

  test("function_call: none answers in text", async () => {
    const completion = await client.chat.completions.create(request({ function_call: "none" }));
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.choices[0]!.message.function_call).toBeUndefined();
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.tool.raw);
  });

  test("streamed: delta.function_call with the name first, then the arguments, finish_reason function_call", async () => {
    const stream = await client.chat.completions.create({ ...request(), stream: true });
    const deltas: Array<{ name?: string; arguments?: string }> = [];
    const finishes: Array<string | null> = [];
    for await (const chunk of stream) {
      expectValid("CreateChatCompletionStreamResponse", chunk);
      const choice = chunk.choices[0]!;
      expect(choice.delta.tool_calls).toBeUndefined();
      if (choice.delta.function_call) deltas.push(choice.delta.function_call);
      finishes.push(choice.finish_reason);
    }
    expect(deltas[0]!.name).toBe(SCRIPTED.tool.name);
    expect(deltas.slice(1).every((d) => d.name === undefined)).toBe(true);
    expect(JSON.parse(deltas.map((d) => d.arguments ?? "").join(""))).toEqual(SCRIPTED.tool.arguments);
    expect(finishes.filter((f) => f !== null)).toEqual(["function_call"]);
  });

  test("the SDK's stream helper assembles the call", async () => {
    const final = await client.chat.completions.stream(request()).finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("function_call");
    expect(final.choices[0]!.message.function_call!.name).toBe(SCRIPTED.tool.name);
    expect(JSON.parse(final.choices[0]!.message.function_call!.arguments)).toEqual(SCRIPTED.tool.arguments);
  });
});

describe("history in the legacy shape", () => {
  const called: ChatCompletionMessageParam = { role: "assistant", content: null, function_call: { name: "get_weather", arguments: JSON.stringify(SCRIPTED.tool.arguments) } };

  test("an assistant function_call and its role: function result continue the conversation", async () => {
    const completion = await client.chat.completions.create(request({ messages: [...ask, called, { role: "function", name: "get_weather", content: "sunny" }] }));
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.tool.answer);
  });

  test("the result is rendered as the call's tool result, as with tool_calls and a tool message", async () => {
    const legacy = await client.chat.completions.create(request({ messages: [...ask, called, { role: "function", name: "get_weather", content: "sunny" }] }));
    const current = await client.chat.completions.create({
      model: "tool",
      temperature: 0,
      tools: [WEATHER_TOOL as OpenAI.Chat.ChatCompletionTool],
      messages: [
        ...ask,
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: called.function_call! }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    expect(legacy.usage!.prompt_tokens).toBe(current.usage!.prompt_tokens);
    expect(legacy.choices[0]!.message.content).toBe(current.choices[0]!.message.content);
  });

  test("a function message with a null content is accepted", async () => {
    const completion = await client.chat.completions.create(request({ messages: [...ask, called, { role: "function", name: "get_weather", content: null }] }));
    expectValid("CreateChatCompletionResponse", completion);
  });
});

describe("errors name the legacy field", () => {
  const badRequest = async (body: object) => {
    const err = await client.chat.completions.create(body as ChatCompletionCreateParamsNonStreaming).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    return err as InstanceType<typeof OpenAI.BadRequestError>;
  };

  test.each([
    ["tools together with functions", { tools: [WEATHER_TOOL] }, "functions"],
    ["tool_choice together with functions", { tool_choice: "auto" }, "tool_choice"],
    ["function_call naming a function not offered", { function_call: { name: "get_time" } }, "function_call.name"],
    ["function_call of the wrong type", { function_call: 5 }, "function_call"],
    ["function_call as an unknown string", { function_call: "required" }, "function_call"],
    ["a function without a name", { functions: [{ description: "x" }] }, "functions[0].name"],
    ["an empty functions list", { functions: [] }, "functions"],
    ["a function message without a name", { messages: [...ask, { role: "function", content: "sunny" }] }, "messages[1].name"],
    ["an assistant function_call without arguments", { messages: [...ask, { role: "assistant", content: null, function_call: { name: "get_weather" } }] }, "messages[1].function_call.arguments"],
    ["function_call arguments that are not JSON", { messages: [...ask, { role: "assistant", content: null, function_call: { name: "get_weather", arguments: "{city" } }] }, "messages[1].function_call.arguments"],
  ])("%s", async (_label, fields, param) => {
    const err = await badRequest({ ...request(), ...fields });
    expect(err.param).toBe(param);
    expect(err.type).toBe("invalid_request_error");
  });

  test("function_call without functions", async () => {
    const err = await badRequest({ model: "tool", messages: ask, function_call: "auto" });
    expect(err.param).toBe("function_call");
    expect(err.message).toContain("functions");
  });

  test("the server still answers after the refusals", async () => {
    const completion = await client.chat.completions.create({ model: "text", messages: [{ role: "user", content: "Foxes?" }], temperature: 0 });
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.text.content);
  });
});
