import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { CreateResponseRequest, type CreateResponseRequestT } from "../../../src/api/responses/schemas.ts";
import { refuseDuplicateIds, toStoredItems } from "../../../src/api/responses/items.ts";
import { encodeReasoning, toGenerationRequest, type History } from "../../../src/api/responses/translate.ts";
import { InvalidRequestError } from "../../../src/errors.ts";

const request = (body: Omit<CreateResponseRequestT, "model">) => {
  const full = { model: "m", ...body };
  expect([...Value.Errors(CreateResponseRequest, full)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  return toGenerationRequest(full);
};

function refusal(body: Omit<CreateResponseRequestT, "model">): InvalidRequestError {
  try {
    toGenerationRequest({ model: "m", ...body });
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error("not refused");
}

describe("input → messages", () => {
  test("a string is one user message, after the instructions", () => {
    expect(request({ input: "Hi", instructions: "Be brief." }).messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
  });

  test("no input, or an empty list, is no message at all", () => {
    expect(request({}).messages).toEqual([]);
    expect(request({ input: [] }).messages).toEqual([]);
  });

  test("developer and system messages are system prompts; text parts are joined", () => {
    const messages = request({
      input: [
        { role: "developer", content: "A" },
        { type: "message", role: "system", content: [{ type: "input_text", text: "B" }] },
        { role: "user", content: [{ type: "input_text", text: "C" }, { type: "input_text", text: "D" }] },
      ],
    }).messages;
    expect(messages).toEqual([
      { role: "system", content: "A" },
      { role: "system", content: "B" },
      { role: "user", content: "C\nD" },
    ]);
  });

  test("an assistant turn's reasoning, message and calls become one assistant message; outputs answer calls", () => {
    const messages = request({
      input: [
        { role: "user", content: "Weather?" },
        { type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "Think." }] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Let me look." }] },
        { type: "function_call", call_id: "c1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call", call_id: "c2", name: "get_weather", arguments: '{"city":"Rome"}' },
        { type: "function_call_output", call_id: "c1", output: "sunny" },
        { type: "function_call_output", call_id: "c2", output: [{ type: "input_text", text: "rainy" }] },
        { type: "reasoning", summary: [{ type: "summary_text", text: "Summed up." }] },
        { role: "assistant", content: "Paris is sunny, Rome rainy." },
      ],
    }).messages;
    expect(messages).toEqual([
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: "Let me look.",
        reasoning: "Think.",
        toolCalls: [
          { id: "c1", name: "get_weather", arguments: { city: "Paris" } },
          { id: "c2", name: "get_weather", arguments: { city: "Rome" } },
        ],
      },
      { role: "tool", content: "sunny", toolCallId: "c1" },
      { role: "tool", content: "rainy", toolCallId: "c2" },
      { role: "assistant", content: "Paris is sunny, Rome rainy.", reasoning: "Summed up." },
    ]);
  });

  test("an item back at an earlier stage of the turn starts a new assistant message", () => {
    const messages = request({
      input: [
        { role: "assistant", content: "One." },
        { type: "reasoning", content: [{ type: "reasoning_text", text: "Hm." }] },
        { role: "assistant", content: "Two." },
      ],
    }).messages;
    expect(messages).toEqual([
      { role: "assistant", content: "One." },
      { role: "assistant", content: "Two.", reasoning: "Hm." },
    ]);
  });

  test("Hearth's encrypted_content stands for the reasoning text; another server's is left out", () => {
    const messages = request({
      input: [
        { type: "reasoning", summary: [], encrypted_content: encodeReasoning("Thought: ünïcode.") },
        { role: "assistant", content: "A." },
        { role: "user", content: "Again" },
        { type: "reasoning", summary: [], encrypted_content: "gAAAAABo-opaque" },
        { role: "assistant", content: "B." },
      ],
    }).messages;
    expect(messages).toEqual([
      { role: "assistant", content: "A.", reasoning: "Thought: ünïcode." },
      { role: "user", content: "Again" },
      { role: "assistant", content: "B." },
    ]);
  });

  test("an output for a call not made (or made before the last user message) names its call_id", () => {
    expect(refusal({ input: [{ type: "function_call_output", call_id: "x", output: "1" }] }).param).toBe("input[0].call_id");
    const stale = refusal({
      input: [
        { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
        { role: "user", content: "never mind" },
        { type: "function_call_output", call_id: "c", output: "1" },
      ],
    });
    expect(stale.param).toBe("input[2].call_id");
    const twice = refusal({
      input: [
        { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
        { type: "function_call_output", call_id: "c", output: "1" },
        { type: "function_call_output", call_id: "c", output: "2" },
      ],
    });
    expect(twice.param).toBe("input[2].call_id");
  });

  test("images and files are refused by their part", () => {
    expect(refusal({ input: [{ role: "user", content: [{ type: "input_text", text: "see" }, { type: "input_image" }] }] }).param).toBe("input[0].content[1]");
    expect(refusal({ input: [{ type: "function_call", call_id: "c", name: "f", arguments: "{}" }, { type: "function_call_output", call_id: "c", output: [{ type: "input_file" }] }] }).param).toBe(
      "input[1].output[0]",
    );
  });
});

describe("the rest of the request", () => {
  test("function tools are offered, with the field their parameters came from; other tool types are skipped", () => {
    const generation = request({
      input: "x",
      tools: [
        { type: "web_search" },
        { type: "function", name: "f", description: "F", parameters: { type: "object" }, strict: true },
        { type: "custom" },
        { type: "function", name: "g" },
      ],
      tool_choice: { type: "function", name: "g" },
      parallel_tool_calls: false,
    });
    expect(generation.tools).toEqual([
      { name: "f", description: "F", parameters: { type: "object" }, field: "tools[1].parameters" },
      { name: "g", description: undefined, parameters: undefined, field: "tools[3].parameters" },
    ]);
    expect(generation.toolChoice).toEqual({ name: "g" });
    expect(generation.parallelToolCalls).toBe(false);
  });

  test("sampling, limits, effort, formats and logprobs", () => {
    const generation = request({
      input: "x",
      temperature: 0.5,
      top_p: 0.9,
      max_output_tokens: 7,
      reasoning: { effort: "xhigh", summary: "detailed" },
      text: { format: { type: "json_schema", name: "a", schema: { type: "object" } } },
      include: ["message.output_text.logprobs"],
      top_logprobs: 3,
    });
    expect(generation).toMatchObject({ sampling: { temperature: 0.5, topP: 0.9 }, maxTokens: 7, reasoning: true, n: 1, stop: [], topLogprobs: 3 });
    expect(generation.responseFormat).toEqual({ type: "json", schema: { type: "object" }, param: "text.format.schema" });
    expect(request({ input: "x", reasoning: { effort: "low" } }).reasoning).toBe(false);
    expect(request({ input: "x", reasoning: { summary: "auto" } }).reasoning).toBeUndefined();
    expect(request({ input: "x", top_logprobs: 3 }).topLogprobs).toBeUndefined();
    expect(request({ input: "x", text: { format: { type: "json_object" } } }).responseFormat).toEqual({ type: "json", param: "text.format" });
  });

  test("what Hearth cannot do is refused by name", () => {
    expect(refusal({ input: "x", background: true }).param).toBe("background");
    expect(refusal({ input: "x", prompt: { id: "pmpt_1" } }).param).toBe("prompt");
    // Explicit nulls and false are what clients send when they mean none.
    expect(request({ input: "x", previous_response_id: null, conversation: null, background: false }).messages).toHaveLength(1);
  });

  test("a tool_choice with no function to call is refused", () => {
    expect(refusal({ input: "x", tools: [{ type: "web_search" }], tool_choice: "required" }).param).toBe("tool_choice");
    expect(refusal({ input: "x", tools: [{ type: "function", name: "f" }], tool_choice: { type: "function", name: "g" } }).param).toBe("tool_choice");
  });
});

describe("history: a previous response's or a conversation's items, before the input", () => {
  const call = { type: "function_call" as const, id: "fc_1", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" as const };
  const stored: History = {
    param: "previous_response_id",
    items: [
      { type: "message", id: "msg_1", role: "user", content: [{ type: "input_text", text: "Weather?" }] },
      { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "Use the tool." }] },
      call,
    ],
  };

  test("comes after the instructions and before the input, whose outputs answer its calls", () => {
    const generation = toGenerationRequest({ model: "m", instructions: "Be brief.", input: [{ type: "function_call_output", call_id: "call_1", output: "sunny" }] }, undefined, stored);
    expect(generation.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather?" },
      { role: "assistant", content: "", reasoning: "Use the tool.", toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }] },
      { role: "tool", content: "sunny", toolCallId: "call_1" },
    ]);
    expect(toGenerationRequest({ model: "m", input: "And tomorrow?" }, undefined, { param: "conversation", items: [] }).messages).toEqual([{ role: "user", content: "And tomorrow?" }]);
  });

  test("a stored item that cannot be read names the field that brought it", () => {
    const history: History = { param: "conversation", items: [{ type: "function_call_output", id: "fco_1", call_id: "call_9", output: "x" }] };
    let error: InvalidRequestError | undefined;
    try {
      toGenerationRequest({ model: "m", input: "Hi" }, undefined, history);
    } catch (err) {
      error = err as InvalidRequestError;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error!.param).toBe("conversation");
    expect(error!.message).toContain("fco_1");
  });
});

describe("input as stored items", () => {
  test("each gets an id and a status; a message's content becomes parts", () => {
    const [message] = toStoredItems("Hi");
    expect(message).toEqual({ type: "message", id: expect.stringMatching(/^msg_/), role: "user", status: "completed", content: [{ type: "input_text", text: "Hi" }] });
    expect(
      toStoredItems([
        { role: "developer", content: "A" },
        { role: "assistant", content: [{ type: "output_text", text: "B" }, { type: "refusal", refusal: "No." }], id: "msg_own" },
        { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
        { type: "function_call_output", call_id: "c", output: [{ type: "input_text", text: "1" }] },
        { type: "reasoning", summary: [{ type: "summary_text", text: "S" }], encrypted_content: "hearth.v1.eA==" },
      ]),
    ).toEqual([
      { type: "message", id: expect.stringMatching(/^msg_/), role: "developer", status: "completed", content: [{ type: "input_text", text: "A" }] },
      { type: "message", id: "msg_own", role: "assistant", status: "completed", content: [{ type: "output_text", text: "B", annotations: [], logprobs: [] }, { type: "refusal", refusal: "No." }] },
      { type: "function_call", id: expect.stringMatching(/^fc_/), call_id: "c", name: "f", arguments: "{}", status: "completed" },
      { type: "function_call_output", id: expect.stringMatching(/^fco_/), call_id: "c", output: [{ type: "input_text", text: "1" }], status: "completed" },
      { type: "reasoning", id: expect.stringMatching(/^rs_/), summary: [{ type: "summary_text", text: "S" }], content: [], encrypted_content: "hearth.v1.eA==", status: "completed" },
    ]);
  });

  test("an id the history or an earlier input item has is a duplicate, named by its place", () => {
    const history = [{ type: "message" as const, id: "msg_1", role: "user" as const, content: "Hi" }];
    expect(() => refuseDuplicateIds(history, [{ role: "user", content: "x", id: "msg_2" }])).not.toThrow();
    const duplicate = (input: CreateResponseRequestT["input"]) => {
      try {
        refuseDuplicateIds(history, input);
      } catch (err) {
        return (err as InvalidRequestError).param;
      }
    };
    expect(duplicate([{ role: "user", content: "x" }, { role: "assistant", content: "y", id: "msg_1" }])).toBe("input[1].id");
    expect(duplicate([{ role: "user", content: "x", id: "a" }, { role: "user", content: "y", id: "a" }])).toBe("input[1].id");
    expect(duplicate("msg_1")).toBeUndefined();
  });
});
