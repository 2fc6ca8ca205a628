import { expect, test } from "bun:test";
import { withHeartbeat } from "../../../src/api/heartbeat.ts";
import { collectMessage, messageEvents, thinkingSignature, type StreamEvent } from "../../../src/api/anthropic/render.ts";
import { toGenerationRequest } from "../../../src/api/anthropic/translate.ts";
import type { StartedGeneration } from "../../../src/engine/engine.ts";
import type { EngineEvent } from "../../../src/engine/types.ts";
import { InvalidRequestError } from "../../../src/errors.ts";
import type { MessagesRequestT } from "../../../src/api/anthropic/schemas.ts";

const base = { model: "m", max_tokens: 10 } as const;

test("the request maps onto the engine's: system blocks joined, sampling, stop, tools with their field, tool_choice, thinking budget", () => {
  const request = toGenerationRequest({
    ...base,
    system: [{ type: "text", text: "A" }, { type: "text", text: "B" }],
    messages: [{ role: "user", content: "Hi" }],
    temperature: 0.5,
    top_p: 0.9,
    top_k: 20,
    stop_sequences: ["END"],
    tools: [{ name: "f", description: "d", input_schema: { type: "object" } }],
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    thinking: { type: "enabled", budget_tokens: 2048 },
  } as MessagesRequestT);
  expect(request.messages).toEqual([
    { role: "system", content: "A\nB" },
    { role: "user", content: "Hi" },
  ]);
  expect(request.sampling).toEqual({ temperature: 0.5, topP: 0.9, topK: 20 });
  expect(request.maxTokens).toBe(10);
  expect(request.stop).toEqual(["END"]);
  expect(request.tools).toEqual([{ name: "f", description: "d", parameters: { type: "object" }, field: "tools.0.input_schema" }]);
  expect(request.toolChoice).toBe("required");
  expect(request.parallelToolCalls).toBe(false);
  expect(request.reasoning).toBe(true);
  expect(request.reasoningBudget).toBe(2048);
  expect(toGenerationRequest({ ...base, messages: [{ role: "user", content: "x" }], thinking: { type: "disabled" } }).reasoning).toBe(false);
  expect(toGenerationRequest({ ...base, messages: [{ role: "user", content: "x" }] }).reasoning).toBeUndefined();
  expect(toGenerationRequest({ ...base, messages: [{ role: "user", content: "x" }], tool_choice: { type: "tool", name: "f" }, tools: [{ name: "f", input_schema: {} }] }).toolChoice).toEqual({ name: "f" });
});

test("history: thinking becomes reasoning, tool_use calls, tool results come before the turn's text, consecutive user messages merge", () => {
  const request = toGenerationRequest({
    ...base,
    messages: [
      { role: "user", content: "Q" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "s" },
          { type: "redacted_thinking", data: "x" },
          { type: "text", text: "Let me look." },
          { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
          { type: "tool_use", id: "toolu_2", name: "f", input: {} },
        ],
      },
      { role: "user", content: [{ type: "text", text: "also this" }, { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "one" }] }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_2", content: "two", is_error: true }, { type: "text", text: "and this" }] },
    ],
  } as MessagesRequestT);
  expect(request.messages).toEqual([
    { role: "user", content: "Q" },
    {
      role: "assistant",
      content: "Let me look.",
      reasoning: "hmm",
      toolCalls: [
        { id: "toolu_1", name: "f", arguments: { a: 1 } },
        { id: "toolu_2", name: "f", arguments: {} },
      ],
    },
    { role: "tool", content: "one", toolCallId: "toolu_1" },
    { role: "tool", content: "Error: two", toolCallId: "toolu_2" },
    { role: "user", content: "also this\nand this" },
  ]);
});

test("refusals name Anthropic's dotted field paths", () => {
  const fails = (body: object) => {
    try {
      toGenerationRequest({ ...base, ...body } as MessagesRequestT);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidRequestError);
      return (err as InvalidRequestError).param;
    }
    throw new Error("no error");
  };
  expect(fails({ messages: [{ role: "user", content: [{ type: "image", source: {} }] }] })).toBe("messages.0.content.0");
  expect(fails({ messages: [{ role: "assistant", content: [{ type: "tool_result", tool_use_id: "x" }] }] })).toBe("messages.0.content.0.type");
  expect(fails({ messages: [{ role: "user", content: [{ type: "tool_use", id: "x", name: "f", input: {} }] }] })).toBe("messages.0.content.0.type");
  expect(fails({ messages: [{ role: "user", content: "x" }], tools: [{ type: "text_editor_20250728", name: "str_replace_based_edit_tool" }] })).toBe("tools.0.type");
  expect(fails({ messages: [{ role: "user", content: "x" }], tools: [{ name: "f", input_schema: { type: "array" } }] })).toBe("tools.0.input_schema.type");
  expect(fails({ messages: [{ role: "user", content: "x" }], output_config: { format: { type: "json_schema", schema: {} } }, tools: [{ name: "f", input_schema: {} }] })).toBe("output_config.format");
});

async function* engineEvents(events: EngineEvent[]): AsyncGenerator<EngineEvent> {
  yield* events;
}

const usage = { promptTokens: 30, completionTokens: 7, reasoningTokens: 2, cachedTokens: 20 };
const done: EngineEvent = { type: "done", usage, timings: { loadNs: 0, promptEvalNs: 0, evalNs: 0, totalNs: 0 }, context: [] };

function started(events: EngineEvent[]): StartedGeneration {
  return { model: {} as StartedGeneration["model"], modelName: "m", promptTokens: 30, cachedTokens: 20, events: engineEvents(events) };
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

test("engine events render as blocks in order, and fold back into the Message", async () => {
  const events: EngineEvent[] = [
    { type: "reasoning", choice: 0, text: "th" },
    { type: "reasoning", choice: 0, text: "ink" },
    { type: "content", choice: 0, text: "Hi" },
    { type: "tool_call", choice: 0, call: { id: "call_abc", name: "f", arguments: { x: 1 } } },
    { type: "finish", choice: 0, finishReason: "tool_calls" },
    done,
  ];
  const stream = await all(messageEvents(started(events)));
  expect(stream.map((e) => e.type)).toEqual([
    "message_start",
    "ping",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  expect((stream[0] as Extract<StreamEvent, { type: "message_start" }>).message.usage).toEqual({ input_tokens: 10, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 20 });
  const message = await collectMessage(messageEvents(started(events)));
  expect(message.content).toEqual([
    { type: "thinking", thinking: "think", signature: thinkingSignature("m", "think") },
    { type: "text", text: "Hi", citations: null },
    { type: "tool_use", id: "toolu_abc", name: "f", input: { x: 1 } },
  ]);
  expect(message.stop_reason).toBe("tool_use");
  expect(message.usage).toEqual({ input_tokens: 10, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 20 });
});

test("a stop sequence is the stop reason, with the string that matched", async () => {
  const message = await collectMessage(messageEvents(started([{ type: "content", choice: 0, text: "a" }, { type: "finish", choice: 0, finishReason: "stop", stopSequence: "END" }, done])));
  expect(message.stop_reason).toBe("stop_sequence");
  expect(message.stop_sequence).toBe("END");
  const length = await collectMessage(messageEvents(started([{ type: "finish", choice: 0, finishReason: "length" }, done])));
  expect(length.stop_reason).toBe("max_tokens");
  expect(length.content).toEqual([]);
});

test("withHeartbeat puts a beat in whenever the source is silent, and returns the source when returned", async () => {
  let returned = false;
  async function* slow() {
    try {
      yield 1;
      await Bun.sleep(120);
      yield 2;
      await Bun.sleep(1000);
      yield 3;
    } finally {
      returned = true;
    }
  }
  const out: Array<number | string> = [];
  for await (const value of withHeartbeat(slow(), 50, () => "beat")) {
    out.push(value);
    if (value === 2) break;
  }
  expect(out[0]).toBe(1);
  expect(out.filter((v) => v === "beat").length).toBeGreaterThanOrEqual(1);
  expect(out.at(-1)).toBe(2);
  await Bun.sleep(10);
  expect(returned).toBe(true);
});
