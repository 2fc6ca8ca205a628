import { afterAll, beforeAll, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020.js";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { ensureModel } from "../../scripts/gen-model.ts";
import { compileJsonSchema } from "../../src/engine/json-schema/compile.ts";

// The random-weight `tiny` model writes whatever the grammar lets it, so each schema's grammar is
// put to the test by sampling from it over several seeds: every answer that finishes must validate
// (ajv with ajv-formats). Strings and arrays are bounded so that most answers finish in the tokens given.
let model: LlamaModel;
let context: LlamaContext;
let sequence: LlamaContextSequence;
const ajv = addFormats(new Ajv2020({ strict: false }));
const ajv7 = addFormats(new Ajv({ strict: false }));
const SEEDS = [1, 2, 3, 4];

beforeAll(async () => {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: await ensureModel("tiny") });
  // one thread: a busy small machine slows llama.cpp's thread pool down by orders of magnitude
  context = await model.createContext({ contextSize: 1024, sequences: 1, threads: 1 });
  sequence = context.getSequence();
});

afterAll(async () => {
  await context?.dispose();
  await model?.dispose();
});

const text = (maxLength = 6) => ({ type: "string", maxLength });
const SCHEMAS: Record<string, object> = {
  "integer 1..9": { type: "integer", minimum: 1, maximum: 9 },
  "integer maximum 5": { type: "integer", maximum: 5 },
  "negative integers": { type: "integer", minimum: -120, exclusiveMaximum: -3 },
  "multipleOf 7": { type: "integer", multipleOf: 7, minimum: -100, maximum: 100000 },
  "number range": { type: "number", minimum: -1.5, exclusiveMaximum: 2.25 },
  "pattern": { type: "string", pattern: "^[A-Z]{3}-[0-9]{2}$" },
  "pattern with lengths": { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 5 },
  ...Object.fromEntries(["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid", "uri"].map((format) => [`format ${format}`, { type: "string", format }])),
  "lengths": { type: "string", minLength: 3, maxLength: 6 },
  "enum of mixed types": { enum: ["a", 1, null, true, { x: [1] }, 2.5] },
  "nullable": { type: ["string", "null"], maxLength: 5 },
  "anyOf of objects": { anyOf: [{ type: "object", properties: { a: { type: "integer", minimum: 0, maximum: 99 } }, required: ["a"], additionalProperties: false }, { type: "object", properties: { b: text(3) }, required: ["b"], additionalProperties: false }] },
  "oneOf with a discriminator": { oneOf: [{ type: "object", properties: { kind: { const: "a" }, n: { type: "integer", minimum: 0, maximum: 10 } }, required: ["kind", "n"], additionalProperties: false }, { type: "object", properties: { kind: { const: "b" }, s: text(4) }, required: ["kind", "s"], additionalProperties: false }] },
  "allOf merged": { allOf: [{ type: "object", properties: { a: text(4) }, required: ["a"], additionalProperties: false }, { properties: { a: { maxLength: 2 } } }] },
  "recursive $ref": { $defs: { node: { type: "object", properties: { v: { type: "integer", minimum: 0, maximum: 9 }, kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 } }, required: ["v"], additionalProperties: false } }, $ref: "#/$defs/node" },
  "tuple": { type: "array", prefixItems: [{ type: "integer", minimum: 0, maximum: 5 }, text(3), { type: "boolean" }], items: false, minItems: 2 },
  "optional properties": { type: "object", properties: { a: text(3), b: { type: "integer", minimum: 0, maximum: 9 }, c: { type: "boolean" }, d: { type: "null" } }, required: ["b"], additionalProperties: false },
  "person": { type: "object", properties: { name: text(16), age: { type: "integer" }, tags: { type: "array", items: text(16), maxItems: 3 } }, required: ["name", "age", "tags"], additionalProperties: false },
};

test.each(Object.entries(SCHEMAS))("%s: every finished answer validates", async (_name, schema) => {
  const grammar = await model.llama.createGrammar({ grammar: compileJsonSchema(schema) });
  const validate = ajv.compile(schema);
  const finished: unknown[] = [];
  for (const seed of SEEDS) {
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: resolveChatWrapper(model) });
    try {
      const result = await chat.generateResponse([{ type: "user", text: "Tell me a story." }, { type: "model", response: [] }], { grammar, temperature: 1, seed, maxTokens: 200 });
      if (result.metadata.stopReason !== "eogToken") continue; // cut by maxTokens: incomplete, as finish_reason "length" says
      const value = JSON.parse(result.response);
      expect({ answer: result.response, errors: validate(value) ? null : validate.errors }).toEqual({ answer: result.response, errors: null });
      finished.push(value);
    } finally {
      chat.dispose({ disposeSequence: false });
      await sequence.clearHistory();
    }
  }
  expect(finished.length).toBeGreaterThan(0);
});

test("draft 7's array items and additionalItems", async () => {
  const schema = { type: "array", items: [{ type: "null" }, text(2)], additionalItems: { type: "boolean" }, maxItems: 4 };
  const grammar = await model.llama.createGrammar({ grammar: compileJsonSchema(schema) });
  const validate = ajv7.compile(schema);
  for (const seed of SEEDS) {
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: resolveChatWrapper(model) });
    const result = await chat.generateResponse([{ type: "user", text: "Hi" }, { type: "model", response: [] }], { grammar, temperature: 1, seed, maxTokens: 100 });
    chat.dispose({ disposeSequence: false });
    await sequence.clearHistory();
    expect(result.metadata.stopReason).toBe("eogToken");
    expect(validate(JSON.parse(result.response))).toBe(true);
  }
});
