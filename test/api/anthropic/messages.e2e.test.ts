import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import Ajv from "ajv";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";
import { expectMessageShape, expectStreamOrder, expectUsage, parseSse, postMessages } from "./support.ts";

let server: TestServer;
let client: Anthropic;

beforeAll(async () => {
  const models = await modelsFolder(["think", "tool", "text"]);
  server = await startServer({ models, args: ["--ctx-size", "8192", "--parallel", "2"] });
  client = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

type Usage = { input_tokens: number; output_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number };

const user = (content: string) => [{ role: "user" as const, content }];

const weatherTool = {
  name: "get_weather",
  description: "Current weather for a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string", minLength: 1 } }, required: ["city"], additionalProperties: false },
};

/** Tools as Claude Code defines them (names, descriptions and schemas in its style, $schema and all). */
const CLAUDE_CODE_TOOLS = [
  {
    name: "Bash",
    description: "Executes a given bash command in a persistent shell session with optional timeout.",
    input_schema: {
      type: "object",
      properties: {
        command: { type: "string", description: "The command to execute" },
        timeout: { type: "number", description: "Optional timeout in milliseconds (max 600000)" },
        description: { type: "string", description: "Clear, concise description of what this command does in 5-10 words." },
        run_in_background: { type: "boolean", description: "Set to true to run this command in the background." },
      },
      required: ["command"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
  {
    name: "Read",
    description: "Reads a file from the local filesystem.",
    input_schema: {
      type: "object",
      properties: {
        file_path: { type: "string", description: "The absolute path to the file to read" },
        offset: { type: "number", description: "The line number to start reading from" },
        limit: { type: "number", description: "The number of lines to read" },
      },
      required: ["file_path"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
  {
    name: "Edit",
    description: "Performs exact string replacements in files.",
    input_schema: {
      type: "object",
      properties: {
        file_path: { type: "string", description: "The absolute path to the file to modify" },
        old_string: { type: "string", description: "The text to replace" },
        new_string: { type: "string", description: "The text to replace it with (must be different from old_string)" },
        replace_all: { type: "boolean", default: false, description: "Replace all occurences of old_string (default false)" },
      },
      required: ["file_path", "old_string", "new_string"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
  {
    name: "Grep",
    description: "A powerful search tool built on ripgrep",
    input_schema: {
      type: "object",
      properties: {
        pattern: { type: "string", description: "The regular expression pattern to search for in file contents" },
        path: { type: "string", description: "File or directory to search in. Defaults to current working directory." },
        output_mode: { type: "string", enum: ["content", "files_with_matches", "count"], description: "Output mode" },
        "-A": { type: "number", description: "Number of lines to show after each match" },
        "-i": { type: "boolean", description: "Case insensitive search" },
        head_limit: { type: "number", description: "Limit output to first N lines/entries" },
      },
      required: ["pattern"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
  {
    name: "TodoWrite",
    description: "Use this tool to create and manage a structured task list for your current coding session.",
    input_schema: {
      type: "object",
      properties: {
        todos: {
          type: "array",
          items: {
            type: "object",
            properties: {
              content: { type: "string", minLength: 1 },
              status: { type: "string", enum: ["pending", "in_progress", "completed"] },
              activeForm: { type: "string", minLength: 1 },
            },
            required: ["content", "status", "activeForm"],
            additionalProperties: false,
          },
          description: "The updated todo list",
        },
      },
      required: ["todos"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
  {
    name: "WebFetch",
    description: "Fetches content from a specified URL and processes it using an AI model",
    input_schema: {
      type: "object",
      properties: { url: { type: "string", format: "uri", description: "The URL to fetch content from" }, prompt: { type: "string", description: "The prompt to run on the fetched content" } },
      required: ["url", "prompt"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
  {
    name: "mcp__github__create_issue",
    description: "Create a new issue in a GitHub repository",
    input_schema: {
      type: "object",
      properties: {
        owner: { type: "string" },
        repo: { type: "string" },
        title: { type: "string" },
        body: { type: "string" },
        labels: { type: "array", items: { type: "string" } },
        milestone: { anyOf: [{ type: "number" }, { type: "null" }] },
      },
      required: ["owner", "repo", "title"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  },
];

/** A request as Claude Code sends it: system blocks with cache_control, metadata, thinking, tools, streaming. */
function claudeCodeBody(question: string) {
  return {
    model: "text",
    max_tokens: 32000,
    temperature: 1,
    stream: true,
    system: [
      { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: "ephemeral" } },
      { type: "text", text: "You are an interactive CLI tool that helps users with software engineering tasks.\n\n# Tone and style\nBe concise.", cache_control: { type: "ephemeral" } },
    ],
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>\nAs you answer the user's questions, you can use the following context.\n</system-reminder>" },
          { type: "text", text: question, cache_control: { type: "ephemeral" } },
        ],
      },
    ],
    tools: CLAUDE_CODE_TOOLS,
    metadata: { user_id: "user_0123456789abcdef_account__session_00000000-0000-0000-0000-000000000000" },
    thinking: { type: "enabled", budget_tokens: 31999 },
    context_management: { edits: [] },
  };
}

const CLAUDE_CODE_HEADERS = {
  "anthropic-version": "2023-06-01",
  "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
  "anthropic-dangerous-direct-browser-access": "true",
  "x-app": "cli",
  "user-agent": "claude-cli/2.0.0 (external, cli)",
  authorization: "Bearer sk-local",
};

describe("the official SDK", () => {
  test("messages.create answers a Message, field by field", async () => {
    const message = await client.messages.create({ model: "text", max_tokens: 64, messages: user("Tell me about foxes."), ...({ temperature: 0 } as object) });
    expectMessageShape(message as unknown as Record<string, unknown>);
    expect(message.model).toBe("text");
    expect(message.content).toEqual([{ type: "text", text: SCRIPTED.text.content, citations: null }]);
    expect(message.stop_reason).toBe("end_turn");
    expect(message.stop_sequence).toBeNull();
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0)).toBeGreaterThan(5);
    expect(message._request_id).toMatch(/^req_/);
  });

  test("messages.stream accumulates the same message in finalMessage()", async () => {
    const stream = client.messages.stream({ model: "text", max_tokens: 64, messages: user("Foxes?"), temperature: 0 });
    let text = "";
    stream.on("text", (delta) => (text += delta));
    const message = await stream.finalMessage();
    expect(text).toBe(SCRIPTED.text.content);
    // The SDK's accumulated blocks are as content_block_start sent them (no citations), plus its own parsed_output.
    expect(message.content).toHaveLength(1);
    expect(message.content[0]).toMatchObject({ type: "text", text: SCRIPTED.text.content });
    expect(message).toMatchObject({ id: expect.stringMatching(/^msg_/), type: "message", role: "assistant", model: "text", stop_sequence: null });
    expect(message.stop_reason).toBe("end_turn");
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  test("thinking comes as a thinking block with a signature, before the text", async () => {
    const message = await client.messages.create({ model: "think", max_tokens: 256, messages: user("Hi"), thinking: { type: "enabled", budget_tokens: 1024 } });
    expectMessageShape(message as unknown as Record<string, unknown>);
    expect(message.content).toHaveLength(2);
    const [thinking, text] = message.content as [Anthropic.ThinkingBlock, Anthropic.TextBlock];
    expect(thinking.type).toBe("thinking");
    expect(thinking.thinking).toBe(SCRIPTED.think.reasoning);
    expect(thinking.signature.length).toBeGreaterThan(0);
    expect(text).toEqual({ type: "text", text: SCRIPTED.think.content, citations: null });
  });

  test("streamed thinking: thinking and signature events, then the text, accumulated by the SDK", async () => {
    const stream = client.messages.stream({ model: "think", max_tokens: 256, messages: user("Hi"), thinking: { type: "enabled", budget_tokens: 1024 } });
    let thinking = "";
    let signature = "";
    stream.on("thinking", (delta) => (thinking += delta));
    stream.on("signature", (s) => (signature = s));
    const message = await stream.finalMessage();
    expect(thinking).toBe(SCRIPTED.think.reasoning);
    expect(message.content[0]).toEqual({ type: "thinking", thinking: SCRIPTED.think.reasoning, signature });
    expect(signature.length).toBeGreaterThan(0);
    expect(message.content[1]).toMatchObject({ type: "text", text: SCRIPTED.think.content });
  });

  test("thinking disabled: no thinking block", async () => {
    const message = await client.messages.create({ model: "think", max_tokens: 256, messages: user("Hi"), thinking: { type: "disabled" } });
    expect(message.content).toEqual([{ type: "text", text: SCRIPTED.think.content, citations: null }]);
  });

  test("budget_tokens caps the thinking", async () => {
    const message = await client.messages.create({ model: "think", max_tokens: 256, messages: user("Hi"), thinking: { type: "enabled", budget_tokens: 1 } });
    const thinking = message.content.find((b) => b.type === "thinking") as Anthropic.ThinkingBlock | undefined;
    expect(thinking?.thinking.length ?? 0).toBeLessThan(SCRIPTED.think.reasoning.length);
    expect(message.content.at(-1)).toEqual({ type: "text", text: SCRIPTED.think.content, citations: null });
  });

  test("thinking blocks sent back in history are accepted", async () => {
    const first = await client.messages.create({ model: "think", max_tokens: 256, messages: user("Hi"), thinking: { type: "enabled", budget_tokens: 1024 } });
    const second = await client.messages.create({
      model: "think",
      max_tokens: 256,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [
        ...user("Hi"),
        { role: "assistant", content: [...first.content, { type: "redacted_thinking", data: "opaque" }] as Anthropic.ContentBlockParam[] },
        ...user("And again?"),
      ],
    });
    expect(second.content.at(-1)).toEqual({ type: "text", text: SCRIPTED.think.content, citations: null });
  });

  test("a tool use round trip: tool_use with a toolu_ id and schema-valid input, then the answer from the tool_result", async () => {
    const first = await client.messages.create({ model: "tool", max_tokens: 256, messages: user("Weather in Paris?"), tools: [weatherTool] });
    expectMessageShape(first as unknown as Record<string, unknown>);
    expect(first.stop_reason).toBe("tool_use");
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(call.id).toMatch(/^toolu_/);
    expect(call.name).toBe(SCRIPTED.tool.name);
    expect(call.input).toEqual(SCRIPTED.tool.arguments);
    const validate = new Ajv({ strict: false }).compile(weatherTool.input_schema);
    expect(validate(call.input)).toBe(true);

    const second = await client.messages.create({
      model: "tool",
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        ...user("Weather in Paris?"),
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: [{ type: "text", text: '{"sky":"sunny"}' }] }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content).toEqual([{ type: "text", text: SCRIPTED.tool.answer, citations: null }]);
  });

  test("a streamed tool call: its input arrives as input_json_delta and the SDK parses it", async () => {
    const stream = client.messages.stream({ model: "tool", max_tokens: 256, messages: user("Weather in Paris?"), tools: [weatherTool], tool_choice: { type: "any" } });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe("tool_use");
    const call = message.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(call.input).toEqual(SCRIPTED.tool.arguments);
  });

  test("tool_choice naming the tool, with parallel calls off", async () => {
    const message = await client.messages.create({
      model: "tool",
      max_tokens: 256,
      messages: user("Weather in Paris?"),
      tools: [weatherTool, { name: "get_time", description: "time", input_schema: { type: "object", properties: {} } }],
      tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true },
    });
    const calls = message.content.filter((b) => b.type === "tool_use");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ name: "get_weather", input: SCRIPTED.tool.arguments });
  });

  test("tool_choice none: the tool model answers in text", async () => {
    const message = await client.messages.create({ model: "text", max_tokens: 64, messages: user("Weather?"), tools: [weatherTool], tool_choice: { type: "none" } });
    expect(message.content).toEqual([{ type: "text", text: SCRIPTED.text.content, citations: null }]);
  });

  test("stop_sequences: stop_reason stop_sequence and the matched string", async () => {
    const message = await client.messages.create({ model: "text", max_tokens: 64, messages: user("Foxes?"), stop_sequences: ["never", "fox"] });
    expect(message.stop_reason).toBe("stop_sequence");
    expect(message.stop_sequence).toBe("fox");
    expect(message.content).toEqual([{ type: "text", text: SCRIPTED.text.content.slice(0, SCRIPTED.text.content.indexOf("fox")), citations: null }]);
  });

  test("max_tokens: stop_reason max_tokens", async () => {
    const message = await client.messages.create({ model: "text", max_tokens: 3, messages: user("Foxes?") });
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.usage.output_tokens).toBe(3);
  });

  test("countTokens equals the input tokens the same request reports (plain, system and tools, thinking history)", async () => {
    const requests: Anthropic.MessageCreateParamsNonStreaming[] = [
      { model: "text", max_tokens: 16, messages: user(`A unique question ${crypto.randomUUID()}`) },
      { model: "tool", max_tokens: 64, system: [{ type: "text", text: "Be brief." }], messages: user(`Weather? ${crypto.randomUUID()}`), tools: [weatherTool] },
      {
        model: "think",
        max_tokens: 64,
        thinking: { type: "enabled", budget_tokens: 1024 },
        messages: [
          ...user(`Hi ${crypto.randomUUID()}`),
          { role: "assistant", content: [{ type: "thinking", thinking: "Hmm.", signature: "sig" }, { type: "text", text: "Hello!" }] },
          ...user("Again?"),
        ],
      },
    ];
    for (const request of requests) {
      const { max_tokens: _, ...countable } = request;
      const counted = await client.messages.countTokens(countable as Anthropic.MessageCountTokensParams);
      expect(Object.keys(counted)).toEqual(["input_tokens"]);
      const message = await client.messages.create(request);
      const usage = message.usage;
      expect(counted.input_tokens).toBe(usage.input_tokens + (usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0));
    }
  });

  test("count_tokens ignores the generation fields of a whole create body", async () => {
    const body = { model: "text", max_tokens: 16, stream: true, temperature: 0.5, messages: user("Hello") };
    const res = await postMessages(server.url, body, { path: "/v1/messages/count_tokens" });
    expect(res.status).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    const { input_tokens } = (await res.json()) as { input_tokens: number };
    const { max_tokens: _, stream: __, ...rest } = body;
    expect((await client.messages.countTokens(rest)).input_tokens).toBe(input_tokens);
  });

  test("an unknown model is a NotFoundError (404 not_found_error)", async () => {
    const err = await client.messages.create({ model: "no-such-model", max_tokens: 8, messages: user("hi") }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.status).toBe(404);
    expect(err.error).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("no-such-model") } });
    expect(err.requestID).toMatch(/^req_/);
  });

  test("a bad field is a BadRequestError naming it, for streams too", async () => {
    const err = await client.messages.create({ model: "text", max_tokens: 8, messages: [{ role: "user", content: 42 as unknown as string }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.type).toBe("invalid_request_error");
    expect(err.error.error.message).toContain("messages.0.content");
    const streamed = await client.messages.stream({ model: "text", max_tokens: 8, messages: user("hi"), temperature: 7 }).finalMessage().catch((e) => e);
    expect(streamed).toBeInstanceOf(Anthropic.BadRequestError);
    expect(streamed.error.error.message).toContain("temperature");
  });
});

describe("raw wire format", () => {
  test("a Claude Code request: ?beta=true, beta headers, cached system blocks, many tools, thinking, streamed", async () => {
    const res = await postMessages(server.url, claudeCodeBody("What does this repository do?"), { path: "/v1/messages?beta=true", headers: CLAUDE_CODE_HEADERS });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    const events = expectStreamOrder(parseSse(await res.text()));
    const text = events
      .filter((e) => e.data.type === "content_block_delta" && (e.data.delta as { type: string }).type === "text_delta")
      .map((e) => (e.data.delta as { text: string }).text)
      .join("");
    expect(text).toBe(SCRIPTED.text.content);
    expect((events.at(-2)!.data.delta as { stop_reason: string }).stop_reason).toBe("end_turn");
  });

  test("a second request sharing the prefix reads it from the cache: cache_read_input_tokens > 0, not in input_tokens", async () => {
    const count = async (question: string) => {
      const { input_tokens } = (await (await postMessages(server.url, claudeCodeBody(question), { path: "/v1/messages/count_tokens" })).json()) as { input_tokens: number };
      return input_tokens;
    };
    const usageOf = async (question: string) => {
      const events = parseSse(await (await postMessages(server.url, claudeCodeBody(question), { headers: CLAUDE_CODE_HEADERS })).text());
      const start = (events[0]!.data.message as { usage: Usage }).usage;
      const end = (events.find((e) => e.event === "message_delta")!.data as unknown as { usage: Usage }).usage;
      expect(end.input_tokens).toBe(start.input_tokens);
      expect(end.cache_read_input_tokens).toBe(start.cache_read_input_tokens);
      return end;
    };
    await usageOf(`First question ${crypto.randomUUID()}`);
    const question = `Second question ${crypto.randomUUID()}`;
    const second = await usageOf(question);
    const total = await count(question);
    // the system prompt and the tools (most of the prompt) come from the cache
    expect(second.cache_read_input_tokens).toBeGreaterThan(total / 2);
    expect(second.input_tokens).toBeGreaterThan(0);
    expect(second.cache_creation_input_tokens).toBe(0);
    expect(second.input_tokens + second.cache_read_input_tokens).toBe(total);
  });

  test("the SSE events, in order, each with its event: line; a ping after message_start; usage in message_start and message_delta", async () => {
    const res = await postMessages(server.url, { model: "think", max_tokens: 256, stream: true, messages: user("Hi"), thinking: { type: "enabled", budget_tokens: 1024 } });
    const raw = await res.text();
    // every event: an `event:` line, a `data:` line, a blank line
    for (const chunk of raw.split("\n\n").filter(Boolean)) expect(chunk).toMatch(/^event: [a-z_]+\ndata: \{.*\}$/s);
    expect(raw).not.toContain("[DONE]");
    const events = parseSse(raw);
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      ...Array(events.filter((e) => e.data.type === "content_block_delta" && (e.data.delta as { type: string }).type === "thinking_delta").length).fill("content_block_delta"),
      "content_block_delta", // signature_delta
      "content_block_stop",
      "content_block_start",
      ...Array(events.filter((e) => e.data.type === "content_block_delta" && (e.data.delta as { type: string }).type === "text_delta").length).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expectStreamOrder(events);
    const thinking = events.filter((e) => e.data.type === "content_block_delta" && e.data.index === 0);
    expect((thinking.at(-1)!.data.delta as { type: string }).type).toBe("signature_delta");
    const start = events[0]!.data.message as { usage: Usage };
    const delta = events.at(-2)!.data as unknown as { usage: Usage };
    expect(start.usage.output_tokens).toBe(0);
    expect(delta.usage.output_tokens).toBeGreaterThan(0);
    expect(events.at(-1)!.data).toEqual({ type: "message_stop" });
  });

  test("a streamed tool_use block: start with empty input, one input_json_delta, stop; stop_reason tool_use", async () => {
    const res = await postMessages(server.url, { model: "tool", max_tokens: 256, stream: true, messages: user("Weather in Paris?"), tools: [weatherTool] });
    const events = expectStreamOrder(parseSse(await res.text()));
    const start = events.find((e) => e.data.type === "content_block_start" && (e.data.content_block as { type: string }).type === "tool_use")!;
    const json = events
      .filter((e) => e.data.type === "content_block_delta" && e.data.index === start.data.index)
      .map((e) => (e.data.delta as { partial_json: string }).partial_json)
      .join("");
    const input = JSON.parse(json);
    expect(new Ajv({ strict: false }).compile(weatherTool.input_schema)(input)).toBe(true);
    expect(input).toEqual(SCRIPTED.tool.arguments);
    expect((events.at(-2)!.data.delta as { stop_reason: string }).stop_reason).toBe("tool_use");
  });

  test("x-api-key, Authorization: Bearer, any anthropic-version and anthropic-beta are all accepted", async () => {
    for (const headers of <Array<Record<string, string>>>[
      { "x-api-key": "k", "anthropic-version": "2023-06-01" },
      { authorization: "Bearer k", "anthropic-version": "2026-10-21", "anthropic-beta": "a,b" },
      { "anthropic-version": "1999-01-01", "anthropic-beta": "unknown-beta-2099" },
    ]) {
      const res = await postMessages(server.url, { model: "text", max_tokens: 4, messages: user("hi") }, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/json");
    }
  });

  test("system as a string, string content, consecutive user messages, a system-role message and unknown fields", async () => {
    const res = await postMessages(server.url, {
      model: "text",
      max_tokens: 64,
      system: "Be brief.",
      messages: [...user("One."), ...user("Two."), { role: "system", content: "Still brief." }, ...user("Three.")],
      service_tier: "auto",
      container: null,
      mcp_servers: [],
      some_future_field: { x: 1 },
    });
    expect(res.status).toBe(200);
    expectMessageShape(await res.json());
  });

  test("a tool result with is_error and string content is accepted", async () => {
    const res = await postMessages(server.url, {
      model: "tool",
      max_tokens: 64,
      tools: [weatherTool],
      messages: [
        ...user("Weather?"),
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "service down", is_error: true }] },
      ],
    });
    expect(res.status).toBe(200);
    expect((await res.json()).content).toEqual([{ type: "text", text: SCRIPTED.tool.answer, citations: null }]);
  });
});

describe("errors", () => {
  async function error(body: object, path?: string): Promise<{ status: number; body: { type: string; error: { type: string; message: string }; request_id: string } }> {
    const res = await postMessages(server.url, body, { path });
    const json = await res.json();
    expect(Object.keys(json).sort()).toEqual(["error", "request_id", "type"]);
    expect(json.type).toBe("error");
    expect(Object.keys(json.error).sort()).toEqual(["message", "type"]);
    expect(json.request_id).toBe(res.headers.get("request-id"));
    expect(res.headers.get("content-type")).toContain("application/json");
    return { status: res.status, body: json };
  }
  const base = { model: "text", max_tokens: 8, messages: user("hi") };

  test.each([
    ["a missing max_tokens", { model: "text", messages: user("hi") }, "max_tokens"],
    ["a wrong type", { ...base, temperature: "warm" }, "temperature"],
    ["a bad block type", { ...base, messages: [{ role: "user", content: [{ type: "video", text: "x" }] }] }, "messages.0.content.0.type"],
    ["an image block", { ...base, messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }] }] }, "messages.0.content.1"],
    ["a document block", { ...base, messages: [{ role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "x" } }] }] }, "messages.0.content.0"],
    [
      "an image in a tool result",
      {
        ...base,
        messages: [
          ...user("hi"),
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "f", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "image", source: { type: "url", url: "http://x/y.png" } }] }] },
        ],
      },
      "messages.2.content.0.content.0",
    ],
    [
      "a tool_result answering no tool_use",
      { ...base, messages: [...user("hi"), { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_nope", content: "x" }] }] },
      "messages.1.content.0.tool_use_id",
    ],
    ["an unenforceable input_schema", { ...base, tools: [{ name: "f", input_schema: { type: "object", properties: { a: { type: "array", uniqueItems: true } } } }] }, "tools.0.input_schema"],
    ["a server tool", { ...base, tools: [weatherTool, { type: "web_search_20250305", name: "web_search", max_uses: 5 }] }, "tools.1.type"],
    ["a tool without input_schema", { ...base, tools: [{ name: "f" }] }, "tools.0.input_schema"],
    ["tool_choice naming no tool", { ...base, tools: [weatherTool], tool_choice: { type: "tool", name: "other" } }, "tool_choice.name"],
    ["a bad thinking type", { ...base, thinking: { type: "sometimes" } }, "thinking.type"],
  ])("%s is a 400 invalid_request_error naming the field", async (_label, body, field) => {
    const { status, body: json } = await error(body);
    expect(status).toBe(400);
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.message).toContain(field);
  });

  test("server tools in count_tokens are refused the same way", async () => {
    const { status, body } = await error({ model: "text", messages: user("hi"), tools: [{ type: "bash_20250124", name: "bash" }] }, "/v1/messages/count_tokens");
    expect(status).toBe(400);
    expect(body.error.message).toContain("tools.0.type");
  });

  test("invalid JSON is a 400 invalid_request_error", async () => {
    const res = await fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(res.status).toBe(400);
    expect((await res.json()).error.type).toBe("invalid_request_error");
  });

  test("an unknown model is a 404 not_found_error, for count_tokens too", async () => {
    for (const path of ["/v1/messages", "/v1/messages/count_tokens"]) {
      const { status, body } = await error({ ...base, model: "no-such-model" }, path);
      expect(status).toBe(404);
      expect(body.error.type).toBe("not_found_error");
    }
  });

  test("an unknown path under /v1/messages is a 404 in Anthropic's shape", async () => {
    const { status, body } = await error(base, "/v1/messages/batches");
    expect(status).toBe(404);
    expect(body.error.type).toBe("not_found_error");
  });

  test("a body over the limit is a 413 request_too_large in Anthropic's shape", async () => {
    const res = await postMessages(server.url, { ...base, messages: user("x".repeat(32.5 * 1024 * 1024)) });
    expect(res.status).toBe(413);
    const json = await res.json();
    expect(json).toEqual({ type: "error", error: { type: "request_too_large", message: expect.any(String) }, request_id: res.headers.get("request-id") });
  });

  test("a prompt longer than the context is a 400 naming messages", async () => {
    const { status, body } = await error({ ...base, messages: user("word ".repeat(9000)) });
    expect(status).toBe(400);
    expect(body.error.message).toContain("8192");
  });

  test("the request log and metrics count the new routes", async () => {
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const messages = lines.filter((l) => l.route === "/v1/messages" && l.status === 200);
    expect(messages.length).toBeGreaterThan(5);
    expect(messages.some((l) => (l.cached_tokens as number) > 0)).toBe(true);
    expect(messages.every((l) => typeof l.prompt_tokens === "number" && typeof l.completion_tokens === "number")).toBe(true);
    expect(lines.some((l) => l.route === "/v1/messages/count_tokens" && l.status === 200)).toBe(true);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/hearth_http_requests_total\{[^}]*route="\/v1\/messages"[^}]*status="200"[^}]*\} [1-9]/);
  });

  test("the server survived all of the above", async () => {
    const message = await client.messages.create({ model: "text", max_tokens: 64, messages: user("Still there?") });
    expect(message.content).toEqual([{ type: "text", text: SCRIPTED.text.content, citations: null }]);
  });
});

test("usage helper sanity", () => expectUsage({ input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }));
