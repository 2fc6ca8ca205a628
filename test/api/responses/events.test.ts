import { describe, expect, test } from "bun:test";
import { collectResponse, responseEvents, Sequence } from "../../../src/api/responses/events.ts";
import type { CreateResponseRequestT } from "../../../src/api/responses/schemas.ts";
import { responsesSse } from "../../../src/api/responses/sse.ts";
import type { EngineEvent, Usage } from "../../../src/engine/types.ts";
import { InvalidRequestError } from "../../../src/errors.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { expectValidStream, parseResponseStream, type StreamEvent } from "./sse.ts";

const usage: Usage = { promptTokens: 12, completionTokens: 7, reasoningTokens: 3, cachedTokens: 4 };
const done: EngineEvent = { type: "done", usage, timings: { loadNs: 0, promptEvalNs: 0, evalNs: 0, totalNs: 0 }, context: [] };
const body: CreateResponseRequestT = { model: "m", input: "hi" };

async function* engine(events: EngineEvent[], fail?: Error): AsyncGenerator<EngineEvent> {
  for (const event of events) yield event;
  if (fail) throw fail;
}

async function render(events: EngineEvent[], request: CreateResponseRequestT = body): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of responseEvents(engine(events), request, "m", new Sequence())) out.push(event as StreamEvent);
  expectValidStream(out);
  return out;
}

describe("engine events → Responses stream events", () => {
  test("reasoning, text and two calls: each item opened, filled and closed in turn", async () => {
    const events = await render([
      { type: "reasoning", choice: 0, text: "Hm" },
      { type: "reasoning", choice: 0, text: "m." },
      { type: "content", choice: 0, text: "Let me " },
      { type: "content", choice: 0, text: "look." },
      { type: "tool_call", choice: 0, call: { id: "call_1", name: "f", arguments: { a: 1 } } },
      { type: "tool_call", choice: 0, call: { id: "call_2", name: "g", arguments: {} } },
      { type: "finish", choice: 0, finishReason: "tool_calls" },
      done,
    ]);
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const response = events.at(-1)!.response;
    expect(response.output.map((item: { type: string }) => item.type)).toEqual(["reasoning", "message", "function_call", "function_call"]);
    expect(response.output[0].content).toEqual([{ type: "reasoning_text", text: "Hmm." }]);
    expect(response.output[1].content[0].text).toBe("Let me look.");
    expect(response.output[2]).toMatchObject({ call_id: "call_1", name: "f", arguments: '{"a":1}', status: "completed" });
    expect(events.filter((e) => e.type === "response.output_item.done").map((e) => e.item)).toEqual(response.output);
    expect(response.usage).toEqual({
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 4, cache_write_tokens: 8 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 3 },
      total_tokens: 19,
    });
    // The items sent in earlier events kept their state as it was then.
    expect(events[2]!.item).toMatchObject({ type: "reasoning", content: [], status: "in_progress" });
  });

  test("a length cut leaves the open item incomplete and ends with response.incomplete", async () => {
    const events = await render([{ type: "content", choice: 0, text: "The" }, { type: "finish", choice: 0, finishReason: "length" }, done]);
    const last = events.at(-1)!;
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, completed_at: null });
    expect(last.response.output[0].status).toBe("incomplete");
  });

  test("an answer with no output at all is an empty message", async () => {
    const response = await collectResponse(engine([{ type: "finish", choice: 0, finishReason: "stop" }, done]), body, "m");
    expectValid("Response", response);
    expect(response.output).toEqual([{ type: "message", id: expect.any(String), role: "assistant", status: "completed", content: [{ type: "output_text", text: "", annotations: [], logprobs: [] }] }]);
  });

  test("encrypted_content only when included; logprobs only when included", async () => {
    const logprobs = [{ token: "A", logprob: -0.1, bytes: [65], top: [{ token: "A", logprob: -0.1, bytes: [65] }] }];
    const events: EngineEvent[] = [{ type: "reasoning", choice: 0, text: "T" }, { type: "content", choice: 0, text: "A", logprobs }, { type: "finish", choice: 0, finishReason: "stop" }, done];
    const plain = await collectResponse(engine(events), body, "m");
    expect("encrypted_content" in plain.output[0]!).toBe(false);
    expect((plain.output[1] as { content: Array<{ logprobs: unknown[] }> }).content[0]!.logprobs).toEqual([]);
    const included = await collectResponse(engine(events), { ...body, include: ["reasoning.encrypted_content", "message.output_text.logprobs"] }, "m");
    expectValid("Response", included);
    expect((included.output[0] as { encrypted_content?: string }).encrypted_content).toStartWith("hearth.");
    expect((included.output[1] as { content: Array<{ logprobs: unknown[] }> }).content[0]!.logprobs).toEqual([{ token: "A", logprob: -0.1, bytes: [65], top_logprobs: [{ token: "A", logprob: -0.1, bytes: [65] }] }]);
  });

  test("the request's settings are echoed", async () => {
    const response = await collectResponse(engine([done]), {
      model: "m",
      input: "x",
      instructions: "I",
      temperature: 0.2,
      top_p: 0.5,
      max_output_tokens: 9,
      tool_choice: "required",
      parallel_tool_calls: false,
      tools: [{ type: "function", name: "f" }, { type: "web_search" }],
      text: { format: { type: "json_schema", name: "s", schema: { type: "object" }, strict: true }, verbosity: "low" },
      reasoning: { effort: "high" },
      store: false,
      metadata: { k: "v" },
      user: "u",
      truncation: "auto",
      prompt_cache_key: "p",
    }, "m");
    expectValid("Response", response);
    expect(response).toMatchObject({
      instructions: "I",
      temperature: 0.2,
      top_p: 0.5,
      max_output_tokens: 9,
      tool_choice: "required",
      parallel_tool_calls: false,
      tools: [{ type: "function", name: "f", description: null, parameters: null, strict: null }],
      text: { format: { type: "json_schema", name: "s", schema: { type: "object" }, strict: true }, verbosity: "low" },
      reasoning: { effort: "high", summary: null },
      store: false,
      metadata: { k: "v" },
      user: "u",
      truncation: "auto",
      prompt_cache_key: "p",
    });
  });
});

describe("the SSE framing", () => {
  test("every event is named by its type", async () => {
    const sequence = new Sequence();
    const response = responsesSse(responseEvents(engine([{ type: "content", choice: 0, text: "Hi" }, { type: "finish", choice: 0, finishReason: "stop" }, done]), body, "m", sequence), sequence);
    expect(response.headers.get("content-type")).toStartWith("text/event-stream");
    const events = parseResponseStream(await response.text());
    expect(events.at(-1)!.type).toBe("response.completed");
  });

  test("a failure mid-stream ends it with an error event numbered after the last one", async () => {
    const sequence = new Sequence();
    const failing = engine([{ type: "content", choice: 0, text: "Hi" }], new InvalidRequestError("the model went away", "model"));
    const text = await responsesSse(responseEvents(failing, body, "m", sequence), sequence).text();
    const events = parseResponseStream(text);
    expect(events.at(-1)).toEqual({ type: "error", sequence_number: events.at(-2)!.sequence_number + 1, code: null, message: "the model went away", param: "model" });
  });
});

describe("the finished response, handed over to be kept", () => {
  test("before the last event goes out, as that event carries it; a cancelled answer never", async () => {
    const kept: Array<{ response: unknown; eventsBefore: number }> = [];
    const out: StreamEvent[] = [];
    const finish = (finishReason: "stop" | "length" | "cancelled") => engine([{ type: "content", choice: 0, text: "Hi" }, { type: "finish", choice: 0, finishReason }, done]);
    const request = { ...body, previous_response_id: "resp_0", conversation: "conv_1" };
    for await (const event of responseEvents(finish("stop"), request, "m", new Sequence(), (response) => kept.push({ response, eventsBefore: out.length }))) out.push(event as StreamEvent);
    expect(kept).toEqual([{ response: out.at(-1)!.response, eventsBefore: out.length - 1 }]);
    expect(out.at(-1)!.response).toMatchObject({ status: "completed", previous_response_id: "resp_0", conversation: { id: "conv_1" } });
    const cut = await collectResponse(finish("length"), body, "m", (response) => kept.push({ response, eventsBefore: -1 }));
    expect(kept.at(-1)!.response).toEqual(cut);
    await collectResponse(finish("cancelled"), body, "m", () => {
      throw new Error("a cancelled answer was kept");
    });
    expect(kept).toHaveLength(2);
  });

  test("a failure to keep it ends the stream with an error event instead of response.completed", async () => {
    const sequence = new Sequence();
    const events = engine([{ type: "content", choice: 0, text: "Hi" }, { type: "finish", choice: 0, finishReason: "stop" }, done]);
    const failing = () => {
      throw new InvalidRequestError("the conversation is gone", "conversation");
    };
    const parsed = parseResponseStream(await responsesSse(responseEvents(events, body, "m", sequence, failing), sequence).text());
    expect(parsed.some((event) => event.type === "response.completed")).toBe(false);
    expect(parsed.at(-1)).toMatchObject({ type: "error", param: "conversation" });
  });
});
