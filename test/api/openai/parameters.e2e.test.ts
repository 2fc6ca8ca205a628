import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Ajv from "ajv";
import OpenAI from "openai";
import { getSmallVocab, SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { PERSON_SCHEMA } from "../../support/fixtures.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// Each test here would fail if its parameter were ignored: it compares against the answer
// the same request gives without it, or checks a property only the parameter can produce.
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "think", "tool", "text", "endless"]), args: ["--ctx-size", "2048", "--parallel", "2"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const user = (content: string) => [{ role: "user" as const, content }];
type Body = Parameters<OpenAI["chat"]["completions"]["create"]>[0] & Record<string, unknown>;
// Every answer, whatever the parameters, must still be a valid OpenAI chat completion.
async function ask(body: Partial<Body>) {
  const completion = await client.chat.completions.create({ model: "tiny", messages: user("Tell me a story."), max_tokens: 12, temperature: 0, ...body, stream: false } as Body & { stream: false });
  expectValid("CreateChatCompletionResponse", completion);
  return completion;
}
const text = async (body: Partial<Body>) => (await ask(body)).choices[0]!.message.content;

describe("sampling", () => {
  test("seed makes sampling reproducible, and another seed samples differently", async () => {
    const sampled = (seed: number) => text({ temperature: 1.5, seed, max_tokens: 16 });
    expect(await sampled(7)).toBe(await sampled(7));
    expect(await sampled(8)).not.toBe(await sampled(7));
  });

  test.each([
    ["top_k 1", { top_k: 1 }],
    ["min_p 1", { min_p: 1 }],
    ["top_p ~0", { top_p: 0.000001 }],
  ])("%s at a high temperature leaves only the most likely token, i.e. the greedy answer", async (_label, fields) => {
    const greedy = await text({ temperature: 0, max_tokens: 16 });
    const restricted = await text({ temperature: 1.5, seed: 3, max_tokens: 16, ...(fields as object) });
    expect(restricted).toBe(greedy);
    expect(await text({ temperature: 1.5, seed: 3, max_tokens: 16 })).not.toBe(greedy);
  });

  test.each([["frequency_penalty", { frequency_penalty: 2 }], ["presence_penalty", { presence_penalty: 2 }], ["repetition_penalty", { repetition_penalty: 1.8 }]])(
    "%s changes what greedy decoding repeats",
    async (_label, fields) => {
      const plain = await text({ max_tokens: 48 });
      expect(await text({ max_tokens: 48, ...(fields as object) })).not.toBe(plain);
    },
  );

  test("n gives n distinct choices with their own indexes and finish reasons", async () => {
    const completion = await ask({ n: 3, temperature: 1.2, seed: 11, max_tokens: 10 });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(completion.choices.map((c) => c.message.content)).size).toBe(3);
    expect(completion.choices.every((c) => ["stop", "length"].includes(c.finish_reason))).toBe(true);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(10);
  });

  test("n choices differ without a seed too", async () => {
    const completion = await ask({ n: 3, temperature: 1.2, max_tokens: 10 });
    expect(new Set(completion.choices.map((c) => c.message.content)).size).toBe(3);
  });

  test("n above 8 is a 400 naming n", async () => {
    const err = await ask({ n: 9 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("n");
  });
});

describe("logit_bias", () => {
  const vocab = getSmallVocab();

  test("-100 bans a token: the scripted sentence cannot take its second word", async () => {
    const banned = vocab.id(" quick");
    const content = await text({ model: "text", max_tokens: 8, logit_bias: { [banned]: -100 } });
    expect(content!.startsWith("The")).toBe(true);
    expect(content).not.toContain("quick");
  });

  test("+100 makes a token win", async () => {
    const content = await text({ model: "text", max_tokens: 3, logit_bias: { [vocab.id(" dog")]: 100 } });
    expect(content).toBe(" dog dog dog");
  });

  test("a token id outside the vocabulary is a 400 naming it", async () => {
    const err = await ask({ logit_bias: { "99999999": 5 } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("logit_bias.99999999");
  });
});

describe("logprobs", () => {
  test("logprobs cover every content token with real log-probabilities and sorted alternatives", async () => {
    const completion = await ask({ model: "text", logprobs: true, top_logprobs: 3 });
    const logprobs = completion.choices[0]!.logprobs!.content!;
    expect(logprobs.map((l) => l.token).join("")).toBe(SCRIPTED.text.content);
    for (const l of logprobs) {
      expect(l.logprob).toBeLessThanOrEqual(0);
      // The scripted model is built so its chosen token is near-certain.
      expect(l.logprob).toBeGreaterThan(-0.01);
      expect(l.top_logprobs).toHaveLength(3);
      expect(l.top_logprobs[0]!.token).toBe(l.token);
      const sorted = [...l.top_logprobs].sort((a, b) => b.logprob - a.logprob);
      expect(l.top_logprobs).toEqual(sorted);
      expect(Buffer.from(l.bytes!).toString("utf8")).toBe(l.token);
    }
  });

  test("on a random-weight model the probabilities are spread out and sum to at most 1", async () => {
    const completion = await ask({ logprobs: true, top_logprobs: 5, max_tokens: 6 });
    const logprobs = completion.choices[0]!.logprobs!.content!;
    expect(logprobs.length).toBeGreaterThan(0);
    for (const l of logprobs) {
      const mass = l.top_logprobs.reduce((sum, t) => sum + Math.exp(t.logprob), 0);
      expect(mass).toBeLessThanOrEqual(1.0001);
      expect(l.logprob).toBeCloseTo(l.top_logprobs[0]!.logprob, 5);
    }
  });

  test("without logprobs the field is null; streamed chunks carry their tokens' logprobs", async () => {
    expect((await ask({})).choices[0]!.logprobs).toBeNull();
    const stream = await client.chat.completions.create({ model: "text", messages: user("hi"), temperature: 0, logprobs: true, stream: true });
    const tokens: string[] = [];
    for await (const chunk of stream) {
      expectValid("CreateChatCompletionStreamResponse", chunk);
      tokens.push(...(chunk.choices[0]?.logprobs?.content ?? []).map((l) => l.token));
    }
    expect(tokens.join("")).toBe(SCRIPTED.text.content);
  });
});

describe("structured output", () => {
  const ajv = new Ajv({ strict: false });
  const schema = PERSON_SCHEMA;

  test("json_schema output is valid against the request's schema, even from random weights", async () => {
    for (const seed of [1, 2, 3]) {
      const content = await text({ temperature: 1, seed, max_tokens: 400, response_format: { type: "json_schema", json_schema: { name: "person", schema, strict: true } } });
      const value = JSON.parse(content!);
      expect(ajv.validate(schema, value)).toBe(true);
    }
  });

  test("json_object output is a JSON object; free text from the same model is not", async () => {
    // Seeded sampling is deterministic; with this seed the random model closes its object early.
    const request = { temperature: 1, seed: 4, max_tokens: 300 };
    const completion = await ask({ ...request, response_format: { type: "json_object" } });
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    const value = JSON.parse(completion.choices[0]!.message.content!);
    expect(value !== null && typeof value === "object" && !Array.isArray(value)).toBe(true);
    const free = (await text(request))!;
    expect(() => JSON.parse(free)).toThrow();
  });

  test("guided_choice answers exactly one of the choices", async () => {
    const choices = ["yes", "no", "maybe so"];
    for (const seed of [1, 2, 3, 4]) {
      expect(choices).toContain((await text({ temperature: 1, seed, guided_choice: choices }))!);
    }
    // Without it, the same model writes its scripted sentence.
    expect(await text({ model: "text", guided_choice: choices })).not.toBe(SCRIPTED.text.content);
  });

  test("an unsupported schema is a 400 naming response_format", async () => {
    const err = await ask({ response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "string", minLength: 100000 } } } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("response_format");
  });

  test("a schema type that is not a JSON type is a 400 naming where it is", async () => {
    const schema = { type: "object", properties: { a: { type: "frobnicate" } } };
    const err = await ask({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("response_format.json_schema.schema");
    expect(err.message).toContain('response_format.json_schema.schema.properties.a.type: "frobnicate" is not a JSON schema type');
  });
});

describe("tool_choice", () => {
  const weather = { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
  const time = {
    type: "function" as const,
    function: { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string", enum: ["UTC", "CET"] }, precise: { type: "boolean" } }, required: ["zone", "precise"] } },
  };
  const mode = {
    type: "function" as const,
    function: { name: "set_mode", parameters: { type: "object", properties: { mode: { type: "string", enum: ["eco", "boost"] } }, required: ["mode"] } },
  };
  const ajv = new Ajv({ strict: false });

  // Bounded schemas (enums, booleans): a random-weight model would otherwise fill a free string
  // for as long as max_tokens allows.
  test.each([1, 2, 3, 4, 5])('"required" makes a random-weight model produce a call valid against the schema (seed %i)', async (seed) => {
    const completion = await ask({ tools: [time, mode], tool_choice: "required", max_tokens: 200, temperature: 1, seed });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    const tool = [time, mode].find((t) => t.function.name === call.function.name)!;
    expect(ajv.validate(tool.function.parameters, JSON.parse(call.function.arguments))).toBe(true);
  });

  test('"auto" on the same model and seed answers in text instead', async () => {
    const completion = await ask({ tools: [time, mode], tool_choice: "auto", max_tokens: 20, temperature: 1, seed: 1 });
    expect(completion.choices[0]!.message.tool_calls).toBeUndefined();
  });

  test("a named function is the one called", async () => {
    const completion = await ask({ tools: [weather, time], tool_choice: { type: "function", function: { name: "get_time" } }, max_tokens: 200 });
    const call = completion.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe("get_time");
    expect(ajv.validate(time.function.parameters, JSON.parse(call.function.arguments))).toBe(true);
  });

  test('"none" keeps a tool-calling model from calling', async () => {
    const completion = await ask({ model: "tool", messages: user("Weather in Paris?"), tools: [weather], tool_choice: "none", max_tokens: 40 });
    expect(completion.choices[0]!.message.tool_calls).toBeUndefined();
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });

  test("naming a function that is not offered is a 400", async () => {
    const err = await ask({ tools: [weather], tool_choice: { type: "function", function: { name: "nope" } } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("tool_choice");
    // With no tools at all, too: the call asked for cannot be made.
    const none = await ask({ tool_choice: { type: "function", function: { name: "absent" } } }).catch((e) => e);
    expect(none).toBeInstanceOf(OpenAI.BadRequestError);
    expect(none.error).toEqual({ message: 'tool_choice names the function "absent", which is not in tools', type: "invalid_request_error", param: "tool_choice", code: null });
  });

  test("a tool whose parameters use a type that is not a JSON type is a 400 before anything is generated", async () => {
    // node-llama-cpp would build a grammar from it and fail only on the generated call.
    const broken = { type: "function" as const, function: { name: "f", parameters: { type: "object", properties: { a: { type: "frobnicate" } } } } };
    const err = await ask({ model: "tool", messages: user("Weather in Paris?"), tools: [weather, broken], tool_choice: "required" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("tools[1].function.parameters");
    expect(err.message).toContain('tools[1].function.parameters.properties.a.type: "frobnicate" is not a JSON schema type');
  });

  test("a property named type is a property, not a schema type", async () => {
    const kinds = { type: "function" as const, function: { name: "kinds", parameters: { type: "object", properties: { type: { type: "string", enum: ["a", "b"] } } } } };
    const completion = await ask({ model: "tool", messages: user("Weather in Paris?"), tools: [kinds], tool_choice: "required", max_tokens: 60 });
    const call = completion.choices[0]!.message.tool_calls![0]! as { function: { arguments: string } };
    expect(["a", "b"]).toContain(JSON.parse(call.function.arguments).type);
  });

  test("parallel_tool_calls false gives at most one call", async () => {
    const completion = await ask({ model: "tool", messages: user("Weather in Paris?"), tools: [weather], parallel_tool_calls: false, max_tokens: 60 });
    expect(completion.choices[0]!.message.tool_calls).toHaveLength(1);
  });
});

describe("limits and reasoning", () => {
  test("max_tokens beyond the remaining context is clamped to it and ends with length", async () => {
    const completion = await ask({ model: "endless", messages: user("hi"), max_tokens: 100_000 });
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage!.prompt_tokens + completion.usage!.completion_tokens).toBe(2048);
  });

  test("max_completion_tokens wins over max_tokens and counts reasoning tokens", async () => {
    const completion = await ask({ model: "think", messages: user("Hi"), max_tokens: 100, max_completion_tokens: 3 });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("length");
    expect(completion.usage!.completion_tokens).toBe(3);
    expect(choice.message.content).toBe("");
    expect((choice.message as { reasoning_content?: string }).reasoning_content).toBeDefined();
  });

  test("accepted-and-ignored fields and unknown fields do not change the answer", async () => {
    const content = await text({ model: "text", user: "u1", metadata: { a: "b" }, service_tier: "auto", verbosity: "low", safety_identifier: "s", chat_id: "c", some_future_field: { x: 1 } } as never);
    expect(content).toBe(SCRIPTED.text.content);
  });

  test.each([
    ["metadata", "nope"],
    ["reasoning", "high"],
    ["stream_options", 5],
    ["chat_template_kwargs", "x"],
    ["user", 42],
  ])("%s of the wrong type is a 400 naming it", async (field, value) => {
    const err = await ask({ [field]: value } as never).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe(field);
  });
});

describe("routes", () => {
  test("POST /v1/chat is an alias of /v1/chat/completions", async () => {
    const res = await fetch(`${server.url}/v1/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "text", messages: user("hi"), temperature: 0 }) });
    const completion = await res.json();
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0].message.content).toBe(SCRIPTED.text.content);
  });

  test("GET /v1/models/{id} describes one model; an unknown one is a 404", async () => {
    const model = await client.models.retrieve("think");
    expectValid("Model", model);
    expect(model).toMatchObject({ id: "think", object: "model", owned_by: "hearth" });
    expect(await client.models.retrieve("nope").catch((e) => e.status)).toBe(404);
  });
});
