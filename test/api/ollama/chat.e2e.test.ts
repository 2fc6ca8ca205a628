import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Ajv from "ajv";
import { Ollama, type ChatRequest, type ChatResponse, type Message } from "ollama";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { ndjsonResponse } from "../../../src/api/ollama/ndjson.ts";
import { InvalidRequestError } from "../../../src/errors.ts";
import { modelsFolder } from "../../support/models.ts";
import { PERSON_SCHEMA, WEATHER_TOOL } from "../../support/fixtures.ts";
import { expectStats, json, ndjson, RFC3339 } from "../../support/ollama-wire.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// Each test would fail if the field it names were ignored: it compares with the answer the same
// request gives without it, or checks what only the field can produce. The 400s for think and
// tools on a model without those capabilities are in capabilities.e2e.test.ts (the `plain` preset).
let server: TestServer;
let ollama: Ollama;
let url: string;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "think", "tool", "text"]), args: ["--ctx-size", "2048", "--parallel", "2"] });
  ollama = new Ollama({ host: server.url });
  url = `${server.url}/api/chat`;
});

afterAll(async () => {
  await server?.stop();
});

const user = (content: string): Message[] => [{ role: "user", content }];
const chat = (request: Omit<ChatRequest, "stream" | "messages"> & { messages?: Message[] }): Promise<ChatResponse> =>
  ollama.chat({ messages: user("Tell me a story."), ...request, stream: false });
const content = async (request: Omit<ChatRequest, "stream" | "messages"> & { messages?: Message[] }) => (await chat(request)).message.content;

const weatherTool = WEATHER_TOOL;

describe("wire format", () => {
  test("streams NDJSON by default: chunks with done false, then one final object with the statistics", async () => {
    const lines = await ndjson(url, { model: "text", messages: user("Foxes?") });
    const final = lines.at(-1);
    expect(lines.slice(0, -1).every((l) => l.done === false && l.model === "text" && l.message.role === "assistant")).toBe(true);
    expect(lines.slice(0, -1).map((l) => l.message.content).join("")).toBe(SCRIPTED.text.content);
    expect(final).toMatchObject({ model: "text", message: { role: "assistant", content: "" }, done: true, done_reason: "stop" });
    expectStats(final);
    for (const line of lines) expect(line.created_at).toMatch(RFC3339);
  });

  test("stream false answers with one JSON object", async () => {
    const res = await fetch(url, { method: "POST", body: JSON.stringify({ model: "text", messages: user("Foxes?"), stream: false }) });
    expect(res.headers.get("content-type")).toStartWith("application/json");
    const body = await res.json();
    expect(body).toMatchObject({ model: "text", message: { role: "assistant", content: SCRIPTED.text.content }, done: true, done_reason: "stop" });
    expect(body.created_at).toMatch(RFC3339);
    expectStats(body);
  });

  test("the ollama client reads the stream", async () => {
    let text = "";
    let last: ChatResponse | undefined;
    for await (const part of await ollama.chat({ model: "text", messages: user("Foxes?"), stream: true })) {
      text += part.message.content;
      last = part;
    }
    expect(text).toBe(SCRIPTED.text.content);
    expect(last!.done).toBe(true);
    expect(last!.eval_count).toBeGreaterThanOrEqual(SCRIPTED.text.tokens.length);
  });

  test("an error after streaming began is a final {error} line", async () => {
    async function* chunks() {
      yield { n: 1 };
      throw new InvalidRequestError("grammar broke", "format");
    }
    expect(await ndjsonResponse(chunks()).text()).toBe('{"n":1}\n{"error":"grammar broke"}\n');
  });
});

describe("thinking", () => {
  test("think true puts the reasoning in message.thinking and the answer in content", async () => {
    const response = await chat({ model: "think", think: true });
    expect(response.message.thinking).toBe(SCRIPTED.think.reasoning);
    expect(response.message.content).toBe(SCRIPTED.think.content);
  });

  test("think false answers without thinking", async () => {
    const response = await chat({ model: "think", think: false });
    expect(response.message.thinking).toBeUndefined();
    expect(response.message.content).toBe(SCRIPTED.think.content);
    // the template's empty think block is in the prompt instead
    expect(response.prompt_eval_count).toBeGreaterThan((await chat({ model: "think", think: true })).prompt_eval_count);
  });

  test("a thinking level means on", async () => {
    expect((await chat({ model: "think", think: "low" })).message.thinking).toBe(SCRIPTED.think.reasoning);
  });

  test("streamed thinking comes in message.thinking chunks before the content", async () => {
    const lines = await ndjson(url, { model: "think", messages: user("Hi"), think: true });
    const firstContent = lines.findIndex((l) => l.message.content);
    const thinking = lines.filter((l) => l.message.thinking);
    expect(thinking.map((l) => l.message.thinking).join("")).toBe(SCRIPTED.think.reasoning);
    expect(lines.indexOf(thinking.at(-1))).toBeLessThan(firstContent);
  });

  test("assistant thinking in the history is accepted", async () => {
    const messages: Message[] = [...user("Hi"), { role: "assistant", content: "Hello!", thinking: "Greet back." }, ...user("Again")];
    expect((await chat({ model: "think", messages, think: false })).message.content).toBe(SCRIPTED.think.content);
  });
});

describe("tools", () => {
  test("a tool call comes in message.tool_calls with object arguments, an index and a call_ id", async () => {
    const response = await chat({ model: "tool", tools: [weatherTool] });
    expect(response.message.content).toBe("");
    expect(response.message.tool_calls).toHaveLength(1);
    const call = response.message.tool_calls![0] as unknown as { id: string; function: unknown };
    expect(call.function).toEqual({ index: 0, name: SCRIPTED.tool.name, arguments: SCRIPTED.tool.arguments });
    expect(call.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(response.done_reason).toBe("stop");
  });

  test("streamed, the call is a chunk of its own", async () => {
    const lines = await ndjson(url, { model: "tool", messages: user("Weather in Paris?"), tools: [weatherTool] });
    const calls = lines.flatMap((l) => l.message.tool_calls ?? []);
    expect(calls.map((c) => c.function)).toEqual([{ index: 0, name: SCRIPTED.tool.name, arguments: SCRIPTED.tool.arguments }]);
  });

  test("without tools the model writes its call as text", async () => {
    expect(await content({ model: "tool" })).toBe(SCRIPTED.tool.raw);
  });

  test.each([
    ["tool_name", { tool_name: SCRIPTED.tool.name }],
    ["tool_call_id", { tool_call_id: "call_abcd1234" }],
  ])("a tool result paired by %s is answered", async (_label, pairing) => {
    const messages = [
      ...user("Weather in Paris?"),
      { role: "assistant", content: "", tool_calls: [{ id: "call_abcd1234", function: { name: SCRIPTED.tool.name, arguments: SCRIPTED.tool.arguments } }] },
      { role: "tool", content: "sunny", ...pairing },
    ] as Message[];
    expect(await content({ model: "tool", messages, tools: [weatherTool] })).toBe(SCRIPTED.tool.answer);
  });

  test("a tool result for a call that was never made is a 400", async () => {
    const { status, body } = await json(url, { model: "tool", messages: [...user("Hi"), { role: "tool", content: "x", tool_call_id: "call_nope" }], stream: false });
    expect(status).toBe(400);
    expect(body.error).toContain("call_nope");
  });

  test("a tool name that no grammar can hold (empty, whitespace, control characters) is a 400 naming it", async () => {
    for (const name of ["", "\u0000", "a\u0000b", "get weather", "a\nb"]) {
      const tool = { ...weatherTool, function: { ...weatherTool.function, name } };
      const { status, body } = await json(url, { model: "tool", messages: user("Weather?"), tools: [weatherTool, tool], stream: false });
      expect({ name, status, body }).toEqual({ name, status: 400, body: { error: expect.stringContaining("Invalid value for 'tools[1].function.name'"), request_id: expect.any(String) } });
    }
    // Ollama's names are looser than OpenAI's: dots, non-ASCII letters.
    const dotted = { ...weatherTool, function: { ...weatherTool.function, name: "weather.get_ünï" } };
    expect((await json(url, { model: "tool", messages: user("Weather?"), tools: [dotted], stream: false })).status).toBe(200);
  });
});

describe("format", () => {
  const ajv = new Ajv({ strict: false });
  const schema = PERSON_SCHEMA;

  test("a JSON schema is enforced, even on random weights", async () => {
    // Seeded sampling is deterministic; with these seeds the random model closes its strings within 400 tokens.
    for (const seed of [1, 2, 3]) {
      const response = await chat({ model: "tiny", format: schema, options: { temperature: 1, top_p: 0.95, seed, num_predict: 400 } });
      expect(response.done_reason).toBe("stop");
      expect(ajv.validate(schema, JSON.parse(response.message.content))).toBe(true);
    }
  });

  test('"json" gives JSON where free text is not', async () => {
    const options = { temperature: 1, seed: 4, num_predict: 300 };
    const response = await chat({ model: "tiny", format: "json", options });
    expect(response.done_reason).toBe("stop");
    expect(() => JSON.parse(response.message.content)).not.toThrow();
    const free = await content({ model: "tiny", options });
    expect(() => JSON.parse(free)).toThrow();
  });

  test("a schema that cannot be enforced is a 400 naming format", async () => {
    const { status, body } = await json(url, { model: "tiny", messages: user("x"), format: { type: "string", minLength: 100000 }, stream: false });
    expect(status).toBe(400);
    expect(body.error).toStartWith("format cannot be enforced");
  });

  test("a tool schema type that is not a JSON type is a 400 naming where it is", async () => {
    const tool = { type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "frobnicate" } } } } };
    const { status, body } = await json(url, { model: "tool", messages: user("x"), tools: [tool], stream: false });
    expect(status).toBe(400);
    expect(body.error).toContain('tools[0].function.parameters.properties.a.type: "frobnicate" is not a JSON schema type');
  });
});

describe("options", () => {
  const sampled = (options: Record<string, unknown>) => content({ model: "tiny", options: { num_predict: 16, ...options } });

  test("seed makes sampling reproducible, and another seed samples differently", async () => {
    expect(await sampled({ temperature: 1.5, seed: 7 })).toBe(await sampled({ temperature: 1.5, seed: 7 }));
    expect(await sampled({ temperature: 1.5, seed: 8 })).not.toBe(await sampled({ temperature: 1.5, seed: 7 }));
  });

  test("temperature 0 is greedy: seeds no longer matter", async () => {
    expect(await sampled({ temperature: 0, seed: 1 })).toBe(await sampled({ temperature: 0, seed: 2 }));
  });

  test.each([
    ["top_k 1", { top_k: 1 }],
    ["min_p 1", { min_p: 1 }],
    ["top_p ~0", { top_p: 0.000001 }],
  ])("%s at a high temperature leaves only the most likely token, i.e. the greedy answer", async (_label, fields) => {
    const greedy = await sampled({ temperature: 0 });
    expect(await sampled({ temperature: 1.5, seed: 3, ...fields })).toBe(greedy);
    expect(await sampled({ temperature: 1.5, seed: 3 })).not.toBe(greedy);
  });

  test.each([["repeat_penalty", { repeat_penalty: 1.8 }], ["presence_penalty", { presence_penalty: 2 }], ["frequency_penalty", { frequency_penalty: 2 }]])(
    "%s changes what greedy decoding repeats",
    async (_label, fields) => {
      const plain = await sampled({ temperature: 0, num_predict: 48 });
      expect(await sampled({ temperature: 0, num_predict: 48, ...fields })).not.toBe(plain);
    },
  );

  test("repeat_last_n 0 turns the repeat penalties off", async () => {
    const plain = await sampled({ temperature: 0, num_predict: 48 });
    expect(await sampled({ temperature: 0, num_predict: 48, repeat_penalty: 1.8, repeat_last_n: 0 })).toBe(plain);
  });

  test("num_predict cuts the answer: done_reason length, eval_count n", async () => {
    const response = await chat({ model: "text", options: { num_predict: 3 } });
    expect(response.message.content).toBe(SCRIPTED.text.tokens.slice(0, 3).join(""));
    expect(response.done_reason).toBe("length");
    expect(response.eval_count).toBe(3);
  });

  test("num_predict -1 is unlimited", async () => {
    expect(await content({ model: "text", options: { num_predict: -1 } })).toBe(SCRIPTED.text.content);
  });

  test("stop ends the answer before the stop text", async () => {
    const response = await chat({ model: "text", options: { stop: [" fox"] } });
    expect(response.message.content).toBe("The quick brown");
    expect(response.done_reason).toBe("stop");
  });

  test("num_ctx below the loaded context bounds prompt and answer together", async () => {
    const prompt = (await chat({ model: "text" })).prompt_eval_count;
    const response = await chat({ model: "text", options: { num_ctx: prompt + 2 } });
    expect(response.done_reason).toBe("length");
    expect(response.eval_count).toBe(2);
    const { status } = await json(url, { model: "text", messages: user("Tell me a story."), options: { num_ctx: prompt }, stream: false });
    expect(status).toBe(400);
  });

  test("num_ctx above the loaded context is capped at it", async () => {
    expect(await content({ model: "text", options: { num_ctx: 1_000_000 } })).toBe(SCRIPTED.text.content);
  });

  test("options with nothing to act on, and unknown ones, are ignored with a warning in the log", async () => {
    const options = { num_keep: 5, typical_p: 0.7, mirostat: 2 };
    expect(await content({ model: "text", options })).toBe(SCRIPTED.text.content);
    for (const name of Object.keys(options)) expect(server.output()).toContain(`hearth: ignoring option ${name}:`);
  });

  test("options null is no options, as Ollama reads it", async () => {
    const { status, body } = await json(url, { model: "text", messages: user("Tell me a story."), options: null, stream: false });
    expect(status).toBe(200);
    expect(body.message.content).toBe(SCRIPTED.text.content);
  });

  test("a wrong type is a 400 naming the option", async () => {
    const { status, body } = await json(url, { model: "text", messages: user("x"), options: { temperature: "hot" } });
    expect(status).toBe(400);
    expect(body.error).toContain("options.temperature");
  });
});

describe("logprobs", () => {
  test("each content token comes with its log probability and top alternatives", async () => {
    const response = (await chat({ model: "text", logprobs: true, top_logprobs: 2 })) as ChatResponse & { logprobs: any[] };
    expect(response.logprobs.map((l) => l.token).join("")).toBe(SCRIPTED.text.content);
    for (const entry of response.logprobs) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.bytes).toEqual([...Buffer.from(entry.token)]);
      expect(entry.top_logprobs).toHaveLength(2);
    }
    expect((await chat({ model: "text" })) as object).not.toHaveProperty("logprobs");
  });

  test("streamed, each chunk carries its tokens' logprobs", async () => {
    const lines = await ndjson(url, { model: "text", messages: user("Foxes?"), logprobs: true });
    const chunks = lines.filter((l) => !l.done);
    expect(chunks.flatMap((l) => l.logprobs.map((e: { token: string }) => e.token)).join("")).toBe(SCRIPTED.text.content);
    expect(chunks[0].logprobs[0]).not.toHaveProperty("top_logprobs");
  });
});

describe("errors", () => {
  test("an unknown model is a 404 in Ollama's words", async () => {
    const err = await chat({ model: "nope" }).catch((e) => e);
    expect(err.status_code).toBe(404);
    expect(err.error).toBe('model "nope" not found, try pulling it first');
  });

  test("images are a 400: no model has vision", async () => {
    const { status, body } = await json(url, { model: "text", messages: [{ role: "user", content: "What is this?", images: ["aGVsbG8="] }] });
    expect(status).toBe(400);
    expect(body).toEqual({ error: "text does not support image input", request_id: expect.any(String) });
  });

  test("format and tools together are a 400 naming format", async () => {
    const { status, body } = await json(url, { model: "tool", messages: user("x"), tools: [weatherTool], format: "json" });
    expect(status).toBe(400);
    expect(body.error).toStartWith("format");
  });

  test("a message with an unknown role is a 400 naming it", async () => {
    const { status, body } = await json(url, { model: "text", messages: [{ role: "robot", content: "x" }] });
    expect(status).toBe(400);
    expect(body.error).toContain("messages[0].role");
  });
});
