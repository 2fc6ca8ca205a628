import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// The API side of predicted outputs: the field is accepted and checked, and usage reports the
// prediction tokens. Whether drafting from it speeds decoding is the engine's tests' business.

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["text"]);
  server = await startServer({ models, args: ["--ctx-size", "1024", "--parallel", "2"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const ask = [{ role: "user" as const, content: "Foxes?" }];

function expectPredictionUsage(usage: OpenAI.CompletionUsage | undefined | null, predicted: boolean): void {
  const details = usage!.completion_tokens_details!;
  expect(Number.isInteger(details.accepted_prediction_tokens)).toBe(true);
  expect(Number.isInteger(details.rejected_prediction_tokens)).toBe(true);
  if (!predicted) {
    // As OpenAI reports them without a prediction.
    expect(details.accepted_prediction_tokens).toBe(0);
    expect(details.rejected_prediction_tokens).toBe(0);
  }
}

describe("a prediction is accepted and the answer is the same", () => {
  test.each([
    ["a string", SCRIPTED.text.content],
    ["text parts", [{ type: "text" as const, text: SCRIPTED.text.content.slice(0, 10) }, { type: "text" as const, text: SCRIPTED.text.content.slice(10) }]],
    ["an empty string", ""],
    ["a wrong guess", "Something else entirely."],
  ])("prediction content as %s", async (_label, content) => {
    const completion = await client.chat.completions.create({ model: "text", messages: ask, temperature: 0, prediction: { type: "content", content } });
    expectValid("CreateChatCompletionResponse", completion);
    expect(completion.choices[0]!.message.content).toBe(SCRIPTED.text.content);
    expectPredictionUsage(completion.usage, true);
  });

  test("without a prediction the prediction tokens are 0", async () => {
    const completion = await client.chat.completions.create({ model: "text", messages: ask, temperature: 0 });
    expectValid("CreateChatCompletionResponse", completion);
    expectPredictionUsage(completion.usage, false);
  });

  test("streamed, the usage chunk carries them", async () => {
    const stream = await client.chat.completions.create({
      model: "text",
      messages: ask,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      prediction: { type: "content", content: SCRIPTED.text.content },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expectValid("CreateChatCompletionStreamResponse", chunk);
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(SCRIPTED.text.content);
    expectPredictionUsage(usage, true);
  });
});

describe("a malformed prediction is a 400 naming the field", () => {
  test.each([
    ["content of the wrong type", { type: "content", content: 5 }, "prediction.content"],
    ["content missing", { type: "content" }, "prediction.content"],
    ["a part that is not text", { type: "content", content: [{ type: "image_url", text: "x" }] }, "prediction.content[0].type"],
    ["a part whose text is not a string", { type: "content", content: [{ type: "text", text: 5 }] }, "prediction.content[0].text"],
    ["an unknown type", { type: "file", content: "x" }, "prediction.type"],
    ["not an object", "x", "prediction"],
  ])("%s", async (_label, prediction, param) => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "text", messages: ask, prediction }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: expect.stringContaining(param), type: "invalid_request_error", param, code: "invalid_value" }, code: expect.anything(), message: expect.any(String), request_id: expect.any(String) });
  });
});
