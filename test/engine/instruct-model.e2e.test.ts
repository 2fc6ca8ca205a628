import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { SCRIPTED } from "../../scripts/gen-model.ts";
import { modelsFolder } from "../support/models.ts";
import { json, ndjson } from "../support/ollama-wire.ts";
import { startServer, type TestServer } from "../support/server.ts";

/**
 * `--instruct-model think=text`: requests that switch thinking off for the reasoning model "think"
 * are answered by "text", in every dialect, and the responses say so. "tool" is paired with a model
 * that is not there, so it answers itself with thinking off.
 */
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["think", "text", "tool"]);
  server = await startServer({ models, args: ["--ctx-size", "1024", "--parallel", "2", "--instruct-model", "think=text", "--instruct-model", "tool=missing"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const messages = [{ role: "user" as const, content: "Hi" }];

/** What "text" itself answers, the reference for a handed-on request. */
async function textAnswer(): Promise<string> {
  const direct = await client.chat.completions.create({ model: "text", messages, temperature: 0, max_tokens: 24 });
  return direct.choices[0]!.message.content!;
}

describe("OpenAI chat completions", () => {
  test.each([
    ["enable_thinking false", { enable_thinking: false }],
    ["chat_template_kwargs.enable_thinking false", { chat_template_kwargs: { enable_thinking: false } }],
    ["reasoning_effort none", { reasoning_effort: "none" }],
  ])("%s: the instruct model answers, and the response names it", async (_, off) => {
    const completion = await client.chat.completions.create({ model: "think", messages, temperature: 0, max_tokens: 24, ...(off as object) });
    expect(completion.model).toBe("text");
    const message = completion.choices[0]!.message as { content: string | null; reasoning_content?: string };
    expect(message.reasoning_content).toBeUndefined();
    expect(message.content).toBe(await textAnswer());
  });

  test("thinking left on: the reasoning model answers and thinks", async () => {
    const completion = await client.chat.completions.create({ model: "think", messages, temperature: 0 });
    expect(completion.model).toBe("think");
    expect((completion.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe(SCRIPTED.think.reasoning);
  });

  test("streamed: every chunk names the instruct model", async () => {
    const stream = await client.chat.completions.create({ model: "think", messages, temperature: 0, max_tokens: 24, stream: true, enable_thinking: false } as never);
    const models = new Set<string>();
    let content = "";
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      models.add(chunk.model);
      content += chunk.choices[0]?.delta.content ?? "";
    }
    expect([...models]).toEqual(["text"]);
    expect(content).toBe(await textAnswer());
  });

  test("a pair whose instruct model is missing: the reasoning model answers with thinking off, and the server says why once", async () => {
    const completion = await client.chat.completions.create({ model: "tool", messages, temperature: 0, max_tokens: 8, enable_thinking: false } as never);
    expect(completion.model).toBe("tool");
    await client.chat.completions.create({ model: "tool", messages, temperature: 0, max_tokens: 8, enable_thinking: false } as never);
    expect(server.output().match(/--instruct-model tool=missing: model "missing" not found/g)).toHaveLength(1);
  });

  test("the startup log names each pair", () => {
    expect(server.output()).toContain('with thinking off, "think" is answered by "text"');
  });
});

describe("Ollama", () => {
  test("/api/chat think false: the instruct model answers, in every line", async () => {
    const { status, body } = await json(`${server.url}/api/chat`, { model: "think", messages, think: false, stream: false, options: { temperature: 0, num_predict: 24 } });
    expect(status).toBe(200);
    expect(body.model).toBe("text");
    expect(body.message.thinking).toBeUndefined();
    expect(body.message.content).toBe(await textAnswer());
    const lines = await ndjson(`${server.url}/api/chat`, { model: "think", messages, think: false, options: { temperature: 0, num_predict: 24 } });
    expect(new Set(lines.map((line) => line.model))).toEqual(new Set(["text"]));
  });

  test("/api/generate think false: the instruct model answers", async () => {
    const { status, body } = await json(`${server.url}/api/generate`, { model: "think", prompt: "Hi", think: false, stream: false, options: { temperature: 0, num_predict: 24 } });
    expect(status).toBe(200);
    expect(body.model).toBe("text");
    expect(body.thinking).toBeUndefined();
  });

  test("think true or unset: the reasoning model answers", async () => {
    const { body } = await json(`${server.url}/api/chat`, { model: "think", messages, think: true, stream: false, options: { temperature: 0 } });
    expect(body.model).toBe("think");
    expect(body.message.thinking).toBe(SCRIPTED.think.reasoning);
  });
});
