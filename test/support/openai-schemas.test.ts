import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { DEFAULT_SPEC, FIXTURE, readSpec, renderFixture } from "../../scripts/openai-schemas.ts";
import { expectValid, expectValidEvent, schemas } from "./openai-schemas.ts";

/** The examples the spec itself documents for a schema (`x-oaiMeta.example`; chunk examples are separated by blank lines). */
function specExamples(name: string): Record<string, unknown>[] {
  const example = (schemas.components.schemas[name] as { "x-oaiMeta": { example: string } })["x-oaiMeta"].example;
  return example
    .split("\n\n")
    .map((part) => part.trim())
    .filter((part) => part.startsWith("{"))
    .map((part) => JSON.parse(part));
}

const completion = () => specExamples("CreateChatCompletionResponse")[0]!;

describe("expectValid", () => {
  test("accepts the spec's own examples", () => {
    expectValid("CreateChatCompletionResponse", completion());
    expectValid("Model", specExamples("Model")[0]);
    const chunks = specExamples("CreateChatCompletionStreamResponse");
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) expectValid("CreateChatCompletionStreamResponse", chunk);
  });

  test("accepts a minimal chat completion", () => {
    const minimal = {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1741569952,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi", refusal: null }, logprobs: null, finish_reason: "stop" }],
    };
    expectValid("CreateChatCompletionResponse", minimal);
  });

  test("rejects a completion without choices, naming the field", () => {
    const { choices: _, ...broken } = completion();
    expect(() => expectValid("CreateChatCompletionResponse", broken)).toThrow("(root) must have required property 'choices'");
  });

  test("reports the instance path of a nested error", () => {
    const broken = completion() as { choices: Array<{ finish_reason: unknown }> };
    broken.choices[0]!.finish_reason = "done";
    expect(() => expectValid("CreateChatCompletionResponse", broken)).toThrow(
      '/choices/0/finish_reason must be equal to one of the allowed values ["stop","length","tool_calls","content_filter","function_call"]',
    );
  });

  test("the spec's 3.0-style nullable allows null only where it is set", () => {
    const [chunk] = specExamples("CreateChatCompletionStreamResponse") as Array<{ choices: Array<{ finish_reason: unknown }>; usage?: unknown }>;
    expectValid("CreateChatCompletionStreamResponse", { ...chunk, usage: null });
    const final = completion() as { choices: Array<{ finish_reason: unknown }> };
    final.choices[0]!.finish_reason = null;
    expect(() => expectValid("CreateChatCompletionResponse", final)).toThrow("/choices/0/finish_reason must be string");
  });

  test("timestamps are whole seconds", () => {
    expect(() => expectValid("Model", { ...specExamples("Model")[0], created: Date.now() })).toThrow('/created must match format "unixtime"');
  });
});

describe("the Responses schemas", () => {
  // ajv cannot use their discriminators (an anyOf, optional tags, allOf variants): the unions alone validate.
  const response = {
    id: "resp_1",
    object: "response",
    created_at: 1741487325,
    status: "completed",
    error: null,
    incomplete_details: null,
    instructions: null,
    model: "m",
    output: [{ type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Hi", annotations: [], logprobs: [] }] }],
    parallel_tool_calls: true,
    metadata: {},
    tool_choice: "auto",
    tools: [],
    temperature: null,
    top_p: null,
  };

  test("accept a minimal response and reject an unknown output item", () => {
    expectValid("Response", response);
    expect(() => expectValid("Response", { ...response, output: [{ type: "nonsense", id: "x" }] })).toThrow("/output/0");
  });

  test("a stream event is checked against the member its type names", () => {
    const delta = { type: "response.output_text.delta", item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi", sequence_number: 1, logprobs: [] };
    expectValidEvent(delta);
    expect(() => expectValidEvent({ ...delta, delta: 1 } as { type: string })).toThrow("not a valid OpenAI ResponseTextDeltaEvent");
    expect(() => expectValidEvent({ type: "response.nonsense" })).toThrow("no ResponseStreamEvent has type");
  });
});

describe.skipIf(!existsSync(DEFAULT_SPEC))("test/fixtures/openai-schemas.json", () => {
  test("matches ../shared/reference/openai (else run `npm run openai-schemas`)", async () => {
    expect(await readFile(FIXTURE, "utf8")).toBe(renderFixture(await readSpec()));
  });
});
