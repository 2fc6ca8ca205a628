import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOpenAICompatible, type OpenAICompatibleProvider } from "@ai-sdk/openai-compatible";
import { generateObject } from "ai";
import Ajv2020 from "ajv/dist/2020.js";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { z } from "zod";
import { SCRIPTED } from "../../scripts/gen-model.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Structured outputs through a real server and real clients, answered by the random-weight `tiny`
// model (which writes whatever a grammar lets it) and the scripted `tool` model (which always wants
// to call get_weather({"city": "Paris"})). Every finished answer is validated against the schema sent;
// the schemas bound their strings so that seeded answers finish within the tokens given.
let server: TestServer;
let openai: OpenAI;
let ollama: Ollama;
let hearth: OpenAICompatibleProvider;
const ajv = addFormats(new Ajv2020({ strict: false }));
const ajv7 = addFormats(new Ajv({ strict: false }));

beforeAll(async () => {
  // one thread: a busy small machine slows llama.cpp's thread pool down by orders of magnitude
  server = await startServer({ models: await modelsFolder(["tiny", "tool"]), args: ["--ctx-size", "2048", "--parallel", "2", "--threads", "1"] });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
  hearth = createOpenAICompatible({ baseURL: `${server.url}/v1`, name: "hearth", supportsStructuredOutputs: true });
});

afterAll(async () => {
  await server?.stop();
});

const SEEDS = [1, 2, 3];
const messages = [{ role: "user" as const, content: "Tell me a story." }];
/** The failing cases of issue 11: each came back invalid when node-llama-cpp's grammar ignored the keyword. */
const KEYWORD_SCHEMAS: Record<string, object> = {
  "integer minimum and maximum": { type: "object", properties: { n: { type: "integer", minimum: 1, maximum: 9 } }, required: ["n"], additionalProperties: false },
  "integer maximum": { type: "object", properties: { n: { type: "integer", maximum: 5 } }, required: ["n"], additionalProperties: false },
  pattern: { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}-[0-9]{2}$" } }, required: ["code"], additionalProperties: false },
  "format uuid": { type: "object", properties: { id: { type: "string", format: "uuid" } }, required: ["id"], additionalProperties: false },
  "anyOf of two objects": {
    type: "object",
    properties: {
      shape: {
        anyOf: [
          { type: "object", properties: { radius: { type: "number", minimum: 0, maximum: 10 } }, required: ["radius"], additionalProperties: false },
          { type: "object", properties: { side: { type: "integer", minimum: 1, maximum: 9 } }, required: ["side"], additionalProperties: false },
        ],
      },
    },
    required: ["shape"],
    additionalProperties: false,
  },
  "enum, const and nullable": {
    type: "object",
    properties: { kind: { enum: ["a", 1, null, true] }, v: { const: "fixed" }, note: { type: ["string", "null"], maxLength: 4 } },
    required: ["kind", "v", "note"],
    additionalProperties: false,
  },
};

/** Validates an answer that finished; returns whether it did (a length cut may leave JSON incomplete). */
function expectValidIfFinished(schema: object, finish: string | null | undefined, text: string, draft7 = false): boolean {
  if (finish !== "stop" && finish !== "tool_calls") return false;
  const validate = (draft7 ? ajv7 : ajv).compile(schema);
  const value = JSON.parse(text);
  expect({ text, errors: validate(value) ? null : validate.errors }).toEqual({ text, errors: null });
  return true;
}

describe("OpenAI response_format json_schema (strict)", () => {
  test.each(Object.entries(KEYWORD_SCHEMAS))("%s: every finished answer validates", async (_name, schema) => {
    let finished = 0;
    for (const seed of SEEDS) {
      const completion = await openai.chat.completions.create({
        model: "tiny",
        messages,
        temperature: 1,
        seed,
        max_tokens: 200,
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: schema as Record<string, unknown>, strict: true } },
      });
      const choice = completion.choices[0]!;
      if (expectValidIfFinished(schema, choice.finish_reason, choice.message.content!)) finished++;
    }
    expect(finished).toBeGreaterThan(0);
  });

  test("a recursive schema ($defs with $ref) becomes recursive rules", async () => {
    const schema = {
      type: "object",
      properties: { root: { $ref: "#/$defs/node" } },
      required: ["root"],
      additionalProperties: false,
      $defs: { node: { type: "object", properties: { v: { type: "integer", minimum: 0, maximum: 9 }, kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 } }, required: ["v", "kids"], additionalProperties: false } },
    };
    let finished = 0;
    for (const seed of SEEDS) {
      const completion = await openai.chat.completions.create({ model: "tiny", messages, temperature: 1, seed, max_tokens: 300, response_format: { type: "json_schema", json_schema: { name: "tree", schema, strict: true } } });
      if (expectValidIfFinished(schema, completion.choices[0]!.finish_reason, completion.choices[0]!.message.content!)) finished++;
    }
    expect(finished).toBeGreaterThan(0);
  });
});

describe("Vercel AI SDK generateObject with zod schemas", () => {
  type Node = { value: number; children: Node[] };
  const node: z.ZodType<Node> = z.lazy(() => z.object({ value: z.number().int().min(0).max(9), children: z.array(node).max(2) }));
  const schemas = {
    "int ranges, regex, uuid, a union and nullable": z.object({
      n: z.number().int().min(1).max(9),
      code: z.string().regex(/^[A-Z]{3}-[0-9]{2}$/),
      id: z.string().uuid(),
      shape: z.union([z.object({ kind: z.literal("circle"), radius: z.number().min(0).max(10) }), z.object({ kind: z.literal("square"), side: z.number().int().min(1).max(9) })]),
      note: z.string().max(5).nullable(),
    }),
    "a recursive z.lazy tree": z.object({ root: node }),
  };

  test.each(Object.entries(schemas))("%s: the object parses with the zod schema", async (_name, schema) => {
    // generateObject throws unless the answer parses and passes the zod schema; a length cut would throw too
    const { object, finishReason } = await generateObject({ model: hearth("tiny"), schema: schema as z.ZodType, prompt: "Tell me a story.", temperature: 1, seed: 1, maxOutputTokens: 400 });
    expect(finishReason).toBe("stop");
    expect(schema.safeParse(object).success).toBe(true);
  });
});

describe("Ollama format", () => {
  test.each(Object.entries(KEYWORD_SCHEMAS))("%s: every finished answer validates", async (_name, schema) => {
    let finished = 0;
    for (const seed of SEEDS) {
      const response = await ollama.chat({ model: "tiny", messages, format: schema, options: { temperature: 1, seed, num_predict: 200 }, stream: false });
      if (expectValidIfFinished(schema, response.done_reason, response.message.content)) finished++;
    }
    expect(finished).toBeGreaterThan(0);
  });
});

describe("tool parameters", () => {
  const booking = {
    type: "function" as const,
    function: {
      name: "book",
      description: "Book a table",
      parameters: {
        type: "object",
        properties: { code: { type: "string", pattern: "^[A-Z]{3}-[0-9]{2}$" }, guests: { type: "integer", minimum: 1, maximum: 8 }, day: { type: "string", format: "date" }, note: { type: ["string", "null"], maxLength: 3 } },
        required: ["code", "guests", "day", "note"],
        additionalProperties: false,
      },
    },
  };
  const other = { type: "function" as const, function: { name: "cancel", parameters: { type: "object", properties: { id: { type: "string", format: "uuid" } }, required: ["id"], additionalProperties: false } } };
  /** the `tool` model's scripted city, "Paris", is not a postcode: the grammar must overrule it */
  const postcodeWeather = {
    type: "function" as const,
    function: { name: SCRIPTED.tool.name, parameters: { type: "object", properties: { city: { type: "string", pattern: "^[0-9]{5}$" } }, required: ["city"], additionalProperties: false } },
  };
  const argumentsOf = (call: { function: { arguments: string } }) => call.function.arguments;

  test.each(SEEDS)('tool_choice "required": a random-weight model calls with parameters valid against the schema (seed %i)', async (seed) => {
    const completion = await openai.chat.completions.create({ model: "tiny", messages, tools: [booking, other], tool_choice: "required", temperature: 1, seed, max_tokens: 300 });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    const tool = [booking, other].find((t) => t.function.name === call.function.name)!;
    expectValidIfFinished(tool.function.parameters, choice.finish_reason, argumentsOf(call));
  });

  test("a named tool_choice: that function, its parameters enforced", async () => {
    const completion = await openai.chat.completions.create({ model: "tiny", messages, tools: [booking, other], tool_choice: { type: "function", function: { name: "book" } }, temperature: 1, seed: 5, max_tokens: 300 });
    const call = completion.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe("book");
    expectValidIfFinished(booking.function.parameters, completion.choices[0]!.finish_reason, argumentsOf(call));
  });

  test('tool_choice "auto": the model decides to call, the grammar decides the parameters', async () => {
    const completion = await openai.chat.completions.create({ model: "tool", messages: [{ role: "user", content: "Weather in Paris?" }], tools: [postcodeWeather], temperature: 0, max_tokens: 100 });
    const call = completion.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe(SCRIPTED.tool.name);
    expect(JSON.parse(call.function.arguments).city).toMatch(/^[0-9]{5}$/);
  });

  test("Ollama tools: the call's arguments satisfy the schema", async () => {
    const response = await ollama.chat({ model: "tool", messages: [{ role: "user", content: "Weather in Paris?" }], tools: [postcodeWeather], options: { temperature: 0, num_predict: 100 }, stream: false });
    const call = response.message.tool_calls![0]!;
    expect(call.function.name).toBe(SCRIPTED.tool.name);
    expect(ajv.validate(postcodeWeather.function.parameters, call.function.arguments)).toBe(true);
  });
});

describe("what cannot be enforced is a 400 naming the keyword", () => {
  const UNENFORCEABLE: Array<[string, object, string]> = [
    ["uniqueItems", { type: "object", properties: { a: { type: "array", items: { type: "integer" }, uniqueItems: true } } }, ".properties.a.uniqueItems"],
    ["not", { type: "object", properties: { a: { not: { type: "string" } } } }, ".properties.a.not"],
    ["if/then/else", { type: "object", if: { required: ["a"] }, then: { required: ["b"] } }, ".if"],
    ["patternProperties", { type: "object", patternProperties: { "^x-": { type: "string" } } }, ".patternProperties"],
    ["dependentSchemas", { type: "object", dependentSchemas: { a: { required: ["b"] } } }, ".dependentSchemas"],
    ["lookahead", { type: "object", properties: { p: { type: "string", pattern: "^(?=.*[0-9]).{8}$" } } }, ".properties.p.pattern"],
    ["backreference", { type: "object", properties: { p: { type: "string", pattern: "^(a+)-\\1$" } } }, ".properties.p.pattern"],
    ["circular $ref", { $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } }, type: "object", properties: { x: { $ref: "#/$defs/a" } } }, ".properties.x.$ref"],
  ];

  test.each(UNENFORCEABLE)("%s: OpenAI response_format", async (_name, schema, path) => {
    const err = await openai.chat.completions.create({ model: "tiny", messages, response_format: { type: "json_schema", json_schema: { name: "x", schema: schema as Record<string, unknown>, strict: true } } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("response_format");
    expect(err.message).toContain(`response_format cannot be enforced: response_format.json_schema.schema${path}: `);
  });

  test.each(UNENFORCEABLE)("%s: OpenAI tool parameters", async (_name, schema, path) => {
    const tool = { type: "function" as const, function: { name: "f", parameters: schema as Record<string, unknown> } };
    const err = await openai.chat.completions.create({ model: "tool", messages, tools: [tool], tool_choice: "required" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("tools[0].function.parameters");
    expect(err.message).toContain(`tools[0].function.parameters${path}: `);
  });

  test.each(UNENFORCEABLE)("%s: Ollama format and tools", async (_name, schema, path) => {
    const format = await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny", messages, format: schema, stream: false }) });
    expect(format.status).toBe(400);
    expect((await format.json()).error).toStartWith(`format cannot be enforced: format${path}: `);
    const tools = await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tool", messages, tools: [{ type: "function", function: { name: "f", parameters: schema } }], stream: false }) });
    expect(tools.status).toBe(400);
    expect((await tools.json()).error).toContain(`tools[0].function.parameters${path}: `);
  });

  test("a guided_choice with a NUL character, which no token can produce, is a 400 rather than a failed sampler", async () => {
    const err = await openai.chat.completions.create({ model: "tiny", messages, guided_choice: ["yes", "\u0000"] } as never).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("guided_choice");
  });

  test("a dangling $ref is a malformed schema: 400 naming where it is", async () => {
    const schema = { type: "object", properties: { a: { $ref: "#/$defs/missing" } } };
    const err = await openai.chat.completions.create({ model: "tiny", messages, response_format: { type: "json_schema", json_schema: { name: "x", schema } } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("response_format.json_schema.schema");
    expect(err.message).toContain('response_format.json_schema.schema.properties.a.$ref: dangling $ref: "#/$defs/missing" points to nothing in the schema');
  });
});
