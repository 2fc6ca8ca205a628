import { describe, expect, test } from "bun:test";
import { collectCompletion, reasoningSwitch, streamChunks, toGenerationRequest } from "../../../src/api/openai/translate.ts";
import type { ChatCompletionRequestT } from "../../../src/api/openai/schemas.ts";
import { InvalidRequestError } from "../../../src/errors.ts";
import type { EngineEvent } from "../../../src/engine/types.ts";

const base: ChatCompletionRequestT = { model: "m", messages: [{ role: "user", content: "hi" }] };

async function* events(list: EngineEvent[]) {
  yield* list;
}

const finish: EngineEvent = { type: "finish", choice: 0, finishReason: "stop" };
const done: EngineEvent = {
  type: "done",
  usage: { promptTokens: 10, completionTokens: 5, reasoningTokens: 2, cachedTokens: 4 },
  timings: { loadNs: 0, promptEvalNs: 1, evalNs: 1, totalNs: 2 },
  context: [],
};

describe("reasoning switch", () => {
  test.each([
    [{}, undefined],
    [{ reasoning_effort: "low" }, false],
    [{ reasoning_effort: "minimal" }, false],
    [{ reasoning_effort: "medium" }, true],
    [{ reasoning_effort: "high" }, true],
    [{ reasoning: { effort: "on" } }, true],
    [{ reasoning: { effort: "off" } }, false],
    [{ reasoning: { effort: "none" } }, false],
    [{ enable_thinking: false }, false],
    [{ chat_template_kwargs: { enable_thinking: true } }, true],
    [{ chat_template_kwargs: { enable_thinking: false }, reasoning_effort: "high" }, false],
  ] as const)("%j → %p", (fields, expected) => {
    expect(reasoningSwitch({ ...base, ...(fields as object) })).toBe(expected);
  });
});

describe("request translation", () => {
  test("max_completion_tokens wins over max_tokens; stop becomes a list; developer is a system message", () => {
    const req = toGenerationRequest({
      ...base,
      messages: [{ role: "developer", content: [{ type: "text", text: "be brief" }] }, { role: "user", content: "hi" }],
      max_tokens: 50,
      max_completion_tokens: 7,
      stop: "END",
      temperature: 0,
      seed: 42,
    });
    expect(req.maxTokens).toBe(7);
    expect(req.stop).toEqual(["END"]);
    expect(req.messages[0]).toEqual({ role: "system", content: "be brief" });
    expect(req.sampling).toMatchObject({ temperature: 0, seed: 42 });
  });

  test("assistant tool calls in history carry parsed arguments; tool results keep their call id", () => {
    const req = toGenerationRequest({
      ...base,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "w", arguments: '{"city":"Oslo"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    expect(req.messages[1]).toEqual({ role: "assistant", content: "", reasoning: undefined, toolCalls: [{ id: "call_1", name: "w", arguments: { city: "Oslo" } }] });
    expect(req.messages[2]).toEqual({ role: "tool", content: "sunny", toolCallId: "call_1" });
  });

  test("image parts are refused with the part named, not dropped", () => {
    const body: ChatCompletionRequestT = { ...base, messages: [{ role: "user", content: [{ type: "text", text: "what is this" }, { type: "image_url", image_url: { url: "data:," } }] }] };
    expect(() => toGenerationRequest(body)).toThrow(InvalidRequestError);
    try {
      toGenerationRequest(body);
    } catch (err) {
      expect((err as InvalidRequestError).param).toBe("messages[0].content[1]");
      expect((err as Error).message).toContain("does not support image input");
    }
  });

  test("malformed tool-call arguments in history are a 400 naming the field", () => {
    const body: ChatCompletionRequestT = { ...base, messages: [{ role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{oops" } }] }] };
    expect(() => toGenerationRequest(body)).toThrow(/messages\[0\]\.tool_calls\[0\]\.function\.arguments/);
  });
});

describe("response rendering", () => {
  test("n choices: each event lands in its own choice with its own finish_reason; logprobs are rendered", async () => {
    const logprob = { token: "a", logprob: -0.5, bytes: [97], top: [{ token: "a", logprob: -0.5, bytes: [97] }] };
    const completion = await collectCompletion(
      events([
        { type: "content", choice: 0, text: "a", logprobs: [logprob] },
        { type: "finish", choice: 0, finishReason: "length" },
        { type: "content", choice: 1, text: "b", logprobs: [] },
        { type: "finish", choice: 1, finishReason: "stop" },
        done,
      ]),
      "m",
    );
    expect(completion.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([[0, "a", "length"], [1, "b", "stop"]]);
    expect(completion.choices[0]!.logprobs).toEqual({ content: [{ token: "a", logprob: -0.5, bytes: [97], top_logprobs: [{ token: "a", logprob: -0.5, bytes: [97] }] }], refusal: null });
  });

  test("stream with n > 1: every choice opens with the role and closes with its finish_reason", async () => {
    const chunks = [];
    for await (const c of streamChunks(events([{ type: "content", choice: 0, text: "a" }, { type: "finish", choice: 0, finishReason: "stop" }, { type: "content", choice: 1, text: "b" }, { type: "finish", choice: 1, finishReason: "stop" }, done]), "m", false)) chunks.push(c);
    expect(chunks.map((c) => [c.choices[0]!.index, c.choices[0]!.delta, c.choices[0]!.finish_reason])).toEqual([
      [0, { role: "assistant", content: "" }, null],
      [0, { content: "a" }, null],
      [0, {}, "stop"],
      [1, { role: "assistant", content: "" }, null],
      [1, { content: "b" }, null],
      [1, {}, "stop"],
    ]);
  });

  test("tool_choice and guided_choice translate; top_logprobs without logprobs is refused", () => {
    const tools = [{ type: "function" as const, function: { name: "f" } }];
    expect(toGenerationRequest({ ...base, tools, tool_choice: { type: "function", function: { name: "f" } } }).toolChoice).toEqual({ name: "f" });
    expect(toGenerationRequest({ ...base, tools, tool_choice: "required" }).toolChoice).toBe("required");
    expect(toGenerationRequest({ ...base, tool_choice: "auto" }).toolChoice).toBe("auto");
    expect(toGenerationRequest({ ...base, guided_choice: ["yes", "no"] }).responseFormat).toEqual({ type: "choice", choices: ["yes", "no"] });
    expect(toGenerationRequest({ ...base, logprobs: true }).topLogprobs).toBe(0);
    expect(toGenerationRequest({ ...base, logprobs: true, top_logprobs: 3 }).topLogprobs).toBe(3);
    expect(toGenerationRequest({ ...base, logit_bias: { "42": -100 } }).sampling.logitBias).toEqual({ 42: -100 });
    expect(() => toGenerationRequest({ ...base, top_logprobs: 2 })).toThrow(/top_logprobs requires logprobs/);
  });

  test("non-stream: reasoning separated into reasoning_content and reasoning; usage details filled", async () => {
    const completion = await collectCompletion(events([{ type: "reasoning", choice: 0, text: "hmm" }, { type: "content", choice: 0, text: "Hi" }, { type: "content", choice: 0, text: "!" }, finish, done]), "m");
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices[0]!.message).toEqual({ role: "assistant", content: "Hi!", refusal: null, reasoning_content: "hmm", reasoning: "hmm" });
    expect(completion.choices[0]!.logprobs).toBeNull();
    expect(completion.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } });
  });

  test("tool calls: content null, arguments JSON-encoded, finish_reason tool_calls", async () => {
    const completion = await collectCompletion(
      events([{ type: "tool_call", choice: 0, call: { id: "call_x", name: "f", arguments: { a: 1 } } }, { type: "finish", choice: 0, finishReason: "tool_calls" }, done]),
      "m",
    );
    expect(completion.choices[0]!.message.content).toBeNull();
    expect(completion.choices[0]!.message.tool_calls).toEqual([{ id: "call_x", type: "function", function: { name: "f", arguments: '{"a":1}' } }]);
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
  });

  test("stream: role first, deltas, empty final delta with finish_reason, then the usage chunk only when asked", async () => {
    const input: EngineEvent[] = [{ type: "reasoning", choice: 0, text: "r" }, { type: "content", choice: 0, text: "a" }, finish, done];
    const withUsage = [];
    for await (const c of streamChunks(events(input), "m", true)) withUsage.push(c);
    expect(withUsage.map((c) => c.choices[0]?.delta)).toEqual([{ role: "assistant", content: "" }, { reasoning_content: "r", reasoning: "r" }, { content: "a" }, {}, undefined]);
    expect(withUsage.at(-2)!.choices[0]!.finish_reason).toBe("stop");
    expect(withUsage.at(-1)!.choices).toEqual([]);
    expect(withUsage.at(-1)!.usage!.total_tokens).toBe(15);
    expect(new Set(withUsage.map((c) => c.id)).size).toBe(1);

    const withoutUsage = [];
    for await (const c of streamChunks(events(input), "m", false)) withoutUsage.push(c);
    expect(withoutUsage).toHaveLength(4);
    expect(withoutUsage.every((c) => !("usage" in c))).toBe(true);
  });
});

describe("legacy function calling", () => {
  const weather = { name: "w", description: "weather", parameters: { type: "object" } };
  const called: EngineEvent[] = [{ type: "tool_call", choice: 0, call: { id: "call_x", name: "w", arguments: { city: "Oslo" } } }, { type: "finish", choice: 0, finishReason: "tool_calls" }, done];

  test("functions become tools with one call at most; function_call becomes the tool choice", () => {
    const req = toGenerationRequest({ ...base, functions: [weather], parallel_tool_calls: true });
    expect(req.tools).toEqual([weather]);
    expect(req.toolChoice).toBe("auto");
    expect(req.parallelToolCalls).toBe(false);
    expect(toGenerationRequest({ ...base, functions: [weather], function_call: { name: "w" } }).toolChoice).toEqual({ name: "w" });
    expect(toGenerationRequest({ ...base, functions: [weather], function_call: "none" }).toolChoice).toBe("none");
  });

  test("mixing with tools, or function_call without functions, is refused naming the field", () => {
    const paramOf = (body: ChatCompletionRequestT) => {
      try {
        toGenerationRequest(body);
      } catch (err) {
        return (err as InvalidRequestError).param;
      }
    };
    expect(paramOf({ ...base, functions: [weather], tools: [{ type: "function", function: weather }] })).toBe("functions");
    expect(paramOf({ ...base, functions: [weather], tool_choice: "auto" })).toBe("tool_choice");
    expect(paramOf({ ...base, functions: [weather], function_call: { name: "other" } })).toBe("function_call.name");
    expect(paramOf({ ...base, function_call: "auto" })).toBe("function_call");
  });

  test("a tool_choice that cannot be honoured is refused naming tool_choice, as OpenAI does", () => {
    const refusal = (body: ChatCompletionRequestT) => {
      try {
        toGenerationRequest(body);
      } catch (err) {
        return { message: (err as InvalidRequestError).message, param: (err as InvalidRequestError).param };
      }
    };
    const named = { type: "function" as const, function: { name: "absent" } };
    expect(refusal({ ...base, tool_choice: named })).toEqual({ message: 'tool_choice names the function "absent", which is not in tools', param: "tool_choice" });
    expect(refusal({ ...base, tools: [{ type: "function", function: weather }], tool_choice: named })?.param).toBe("tool_choice");
    expect(refusal({ ...base, tool_choice: "required" })?.param).toBe("tool_choice");
    expect(refusal({ ...base, tools: [], tool_choice: "none" })).toBeUndefined();
  });

  test("an assistant function_call is a tool call without id; a function message a tool result paired by name", () => {
    const req = toGenerationRequest({
      ...base,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, function_call: { name: "w", arguments: '{"city":"Oslo"}' } },
        { role: "function", name: "w", content: null },
      ],
    });
    expect(req.messages[1]).toEqual({ role: "assistant", content: "", reasoning: undefined, toolCalls: [{ id: "", name: "w", arguments: { city: "Oslo" } }] });
    expect(req.messages[2]).toEqual({ role: "tool", content: "", name: "w" });
  });

  test("a call is answered as message.function_call with finish_reason function_call", async () => {
    const completion = await collectCompletion(events(called), "m", "functions");
    expect(completion.choices[0]!.message).toEqual({ role: "assistant", content: null, refusal: null, function_call: { name: "w", arguments: '{"city":"Oslo"}' } });
    expect(completion.choices[0]!.finish_reason).toBe("function_call");
  });

  test("streamed: the name, then the arguments, then finish_reason function_call", async () => {
    const chunks = [];
    for await (const c of streamChunks(events(called), "m", false, "functions")) chunks.push(c);
    expect(chunks.map((c) => [c.choices[0]!.delta, c.choices[0]!.finish_reason])).toEqual([
      [{ role: "assistant", content: "" }, null],
      [{ function_call: { name: "w", arguments: "" } }, null],
      [{ function_call: { arguments: '{"city":"Oslo"}' } }, null],
      [{}, "function_call"],
    ]);
  });
});

describe("predicted outputs", () => {
  test("the prediction's text reaches the engine; parts are joined as they are; an empty one is none", () => {
    expect(toGenerationRequest({ ...base, prediction: { type: "content", content: "abc" } }).prediction).toBe("abc");
    expect(toGenerationRequest({ ...base, prediction: { type: "content", content: [{ type: "text", text: "a\n" }, { type: "text", text: "b" }] } }).prediction).toBe("a\nb");
    expect(toGenerationRequest({ ...base, prediction: { type: "content", content: "" } }).prediction).toBeUndefined();
    expect(toGenerationRequest(base).prediction).toBeUndefined();
  });

  test("usage reports the engine's prediction tokens", async () => {
    const usage = { promptTokens: 10, completionTokens: 5, reasoningTokens: 2, cachedTokens: 4, acceptedPredictionTokens: 3, rejectedPredictionTokens: 1 };
    const completion = await collectCompletion(events([finish, { type: "done", usage, timings: { loadNs: 0, promptEvalNs: 1, evalNs: 1, totalNs: 2 }, context: [] }]), "m");
    expect(completion.usage.completion_tokens_details).toEqual({ reasoning_tokens: 2, accepted_prediction_tokens: 3, rejected_prediction_tokens: 1 });
  });
});
