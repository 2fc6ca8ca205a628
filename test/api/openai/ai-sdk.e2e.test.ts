import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOpenAICompatible, type OpenAICompatibleProvider } from "@ai-sdk/openai-compatible";
import { generateText, type LanguageModelUsage, streamText, tool } from "ai";
import { z } from "zod";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let hearth: OpenAICompatibleProvider;

beforeAll(async () => {
  const models = await modelsFolder(["think", "tool", "text"]);
  server = await startServer({ models, args: ["--ctx-size", "1024", "--parallel", "2"] });
  // includeUsage asks for stream_options.include_usage; without it the SDK reports no usage for streams.
  hearth = createOpenAICompatible({ baseURL: `${server.url}/v1`, name: "hearth", includeUsage: true });
});

afterAll(async () => {
  await server?.stop();
});

const tools = {
  get_weather: tool({ description: "Current weather for a city", inputSchema: z.object({ city: z.string() }) }),
};

function expectUsage(usage: LanguageModelUsage) {
  expect(usage.inputTokens).toBeGreaterThan(0);
  expect(usage.outputTokens).toBeGreaterThan(0);
  expect(usage.totalTokens).toBe(usage.inputTokens! + usage.outputTokens!);
}

describe("generateText", () => {
  test("returns the text preset's sentence with usage", async () => {
    const result = await generateText({ model: hearth("text"), prompt: "Tell me about foxes.", temperature: 0 });
    expect(result.text).toBe(SCRIPTED.text.content);
    expect(result.finishReason).toBe("stop");
    expectUsage(result.usage);
  });

  test("surfaces reasoning_content as reasoning, apart from the text", async () => {
    const result = await generateText({ model: hearth("think"), prompt: "Hi", temperature: 0 });
    expect(result.reasoningText).toBe(SCRIPTED.think.reasoning);
    expect(result.reasoning).toEqual([expect.objectContaining({ type: "reasoning", text: SCRIPTED.think.reasoning })]);
    expect(result.text).toBe(SCRIPTED.think.content);
    expect(result.usage.outputTokenDetails.reasoningTokens).toBeGreaterThan(0);
  });

  test("parses a tool call into toolCalls with typed input", async () => {
    const result = await generateText({ model: hearth("tool"), prompt: "Weather in Paris?", tools, temperature: 0 });
    expect(result.finishReason).toBe("tool-calls");
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({ toolName: SCRIPTED.tool.name, input: SCRIPTED.tool.arguments, toolCallId: expect.stringMatching(/^call_/) });
    expectUsage(result.usage);
  });
});

describe("streamText", () => {
  test("text deltas join into the sentence, with usage at the end", async () => {
    const result = streamText({ model: hearth("text"), prompt: "Tell me about foxes.", temperature: 0 });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(SCRIPTED.text.content);
    expect(await result.finishReason).toBe("stop");
    expectUsage(await result.usage);
  });

  test("reasoning streams as reasoning deltas before the text", async () => {
    const result = streamText({ model: hearth("think"), prompt: "Hi", temperature: 0 });
    const order: string[] = [];
    let reasoning = "";
    let text = "";
    for await (const part of result.fullStream) {
      if (part.type === "reasoning-delta") reasoning += part.text;
      else if (part.type === "text-delta") text += part.text;
      else continue;
      if (order.at(-1) !== part.type) order.push(part.type);
    }
    expect(reasoning).toBe(SCRIPTED.think.reasoning);
    expect(text).toBe(SCRIPTED.think.content);
    expect(order).toEqual(["reasoning-delta", "text-delta"]);
    expect(await result.reasoningText).toBe(SCRIPTED.think.reasoning);
  });

  test("a streamed tool call arrives whole in toolCalls", async () => {
    const result = streamText({ model: hearth("tool"), prompt: "Weather in Paris?", tools, temperature: 0 });
    const toolCalls = await result.toolCalls;
    expect(await result.finishReason).toBe("tool-calls");
    expect(toolCalls).toHaveLength(1);
    expect(toolCalls[0]).toMatchObject({ toolName: SCRIPTED.tool.name, input: SCRIPTED.tool.arguments });
    expectUsage(await result.usage);
  });
});
