import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { SCRIPTED, getSmallVocab } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  const models = await modelsFolder(["tiny", "text"]);
  server = await startServer({ models, args: ["--ctx-size", "1024", "--parallel", "2"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const vocab = getSmallVocab();
const id = (text: string) => vocab.id(text);
/** The `text` model continues any last token along "The quick brown fox jumps over the lazy dog." */
const SENTENCE = SCRIPTED.text.content;
const after = (prefix: string) => SENTENCE.slice(prefix.length);

type Body = Record<string, unknown>;

/** Every successful answer is checked against OpenAI's schema; errors are checked by their tests. */
async function post(body: Body): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status === 200) expectValid("CreateCompletionResponse", json);
  return { status: res.status, json };
}

/** Like `client.completions.create`, non-streamed, with its answer checked against OpenAI's schema. */
async function create(body: OpenAI.CompletionCreateParamsNonStreaming): Promise<OpenAI.Completion> {
  const completion = await client.completions.create(body);
  expectValid("CreateCompletionResponse", completion);
  return completion;
}

async function texts(body: Body): Promise<string[]> {
  const { status, json } = await post(body);
  expect(status).toBe(200);
  return json.choices.map((c: { text: string }) => c.text);
}

async function sse(body: Body): Promise<{ contentType: string | null; events: string[] }> {
  const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  return { contentType: res.headers.get("content-type"), events: (await res.text()).split("\n\n").filter(Boolean) };
}

describe("prompt", () => {
  test("a string prompt is continued raw, without a chat template", async () => {
    const completion = await create({ model: "text", prompt: "The quick brown fox", temperature: 0 });
    expect(completion.object).toBe("text_completion");
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.model).toBe("text");
    expect(completion.choices).toEqual([{ text: after("The quick brown fox"), index: 0, logprobs: null, finish_reason: "stop" }]);
    expect(completion.usage!.prompt_tokens).toBe(vocab.tokenize("The quick brown fox").length);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  test("usage reports the prompt tokens reused from the previous request's cache", async () => {
    const prompt = "The quick brown fox jumps over the";
    const ask = () => create({ model: "text", prompt, max_tokens: 1, temperature: 0 });
    await ask();
    const usage = (await ask()).usage as OpenAI.CompletionUsage & { prompt_tokens_details: { cached_tokens: number } };
    // the last prompt token is always evaluated again, to predict the first new one
    expect(usage.prompt_tokens_details.cached_tokens).toBe(usage.prompt_tokens - 1);
  });

  test("token ids are a prompt too", async () => {
    const completion = await create({ model: "text", prompt: [id("The"), id(" quick")], temperature: 0 });
    expect(completion.choices[0]!.text).toBe(after("The quick"));
    expect(completion.usage!.prompt_tokens).toBe(2);
  });

  test("an array of strings gets one choice per prompt, n each, indexed prompt × n + i", async () => {
    const completion = await create({ model: "text", prompt: ["The quick", "The quick brown fox"], n: 2, temperature: 0 });
    expect(completion.choices.map((c) => [c.index, c.text])).toEqual([
      [0, after("The quick")],
      [1, after("The quick")],
      [2, after("The quick brown fox")],
      [3, after("The quick brown fox")],
    ]);
    expect(completion.usage!.prompt_tokens).toBe(vocab.tokenize("The quick").length + vocab.tokenize("The quick brown fox").length);
  });

  test("an array of token arrays gets one choice per prompt", async () => {
    expect(await texts({ model: "text", prompt: [[id("The"), id(" quick")], [id(" lazy")]], temperature: 0 })).toEqual([after("The quick"), after("The quick brown fox jumps over the lazy")]);
  });

  test("echo puts the prompt in front of the text", async () => {
    expect(await texts({ model: "text", prompt: "The quick", echo: true, temperature: 0 })).toEqual([SENTENCE]);
    expect(await texts({ model: "text", prompt: [id("The"), id(" quick")], echo: true, temperature: 0, max_tokens: 2 })).toEqual(["The quick brown fox"]);
  });
});

describe("length and stop", () => {
  test("max_tokens cuts the text with finish_reason length and exactly that many tokens", async () => {
    const completion = await create({ model: "text", prompt: "The quick", max_tokens: 3, temperature: 0 });
    expect(completion.choices[0]!.text).toBe(" brown fox jumps");
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage!.completion_tokens).toBe(3);
  });

  test("max_tokens defaults to 16, as in OpenAI's spec", async () => {
    // A +100 bias makes " lazy" win every step, so only max_tokens ends the text.
    const { json } = await post({ model: "text", prompt: "x", temperature: 0, logit_bias: { [id(" lazy")]: 100 } });
    expect(json.choices[0].text).toBe(" lazy".repeat(16));
    expect(json.choices[0].finish_reason).toBe("length");
    expect(json.usage.completion_tokens).toBe(16);
  });

  test("max_tokens 0 generates nothing; with echo the prompt comes back", async () => {
    expect((await post({ model: "text", prompt: "The quick", max_tokens: 0 })).json.choices[0]).toMatchObject({ text: "", finish_reason: "length" });
    expect(await texts({ model: "text", prompt: "The quick", max_tokens: 0, echo: true })).toEqual(["The quick"]);
  });

  test("stop ends the text before the stop sequence", async () => {
    const completion = await create({ model: "text", prompt: "The quick", stop: [" lazy", "never"], temperature: 0 });
    expect(completion.choices[0]!.text).toBe(" brown fox jumps over the");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(await texts({ model: "text", prompt: "The quick", stop: "fox", temperature: 0 })).toEqual([" brown "]);
  });
});

describe("sampling", () => {
  const babble = { model: "tiny", prompt: "Hello there", max_tokens: 10 };

  test("seed makes sampling at temperature 1 reproducible, and different seeds sample differently", async () => {
    const [a, b] = [await texts({ ...babble, temperature: 1, seed: 42 }), await texts({ ...babble, temperature: 1, seed: 42 })];
    expect(a).toEqual(b);
    const seeded = await Promise.all([1, 2, 3, 4].map((seed) => texts({ ...babble, temperature: 1, seed })));
    expect(new Set(seeded.map((t) => t[0])).size).toBeGreaterThan(1);
  });

  test("temperature defaults to 1 (sampling); temperature 0 is greedy whatever the seed", async () => {
    const sampled = await Promise.all([1, 2, 3, 4].map((seed) => texts({ ...babble, seed })));
    expect(new Set(sampled.map((t) => t[0])).size).toBeGreaterThan(1);
    const greedy = await Promise.all([1, 2].map((seed) => texts({ ...babble, temperature: 0, seed })));
    expect(greedy[0]).toEqual(greedy[1]!);
  });

  test("top_p 0 keeps only the most likely token, so sampling becomes greedy", async () => {
    const greedy = await texts({ ...babble, temperature: 0 });
    for (const seed of [1, 2, 3]) expect(await texts({ ...babble, temperature: 1, top_p: 0, seed })).toEqual(greedy);
  });

  test("n choices are sampled independently, each with its own index", async () => {
    const completion = await create({ ...babble, n: 3, temperature: 1, seed: 7 });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(completion.choices.map((c) => c.text)).size).toBeGreaterThan(1);
  });

  test("logit_bias -100 bans a token", async () => {
    const [text] = await texts({ model: "text", prompt: "The", temperature: 0, max_tokens: 3, logit_bias: { [id(" quick")]: -100 } });
    expect(text).not.toStartWith(" quick");
    expect(await texts({ model: "text", prompt: "The", temperature: 0, max_tokens: 3 })).toEqual([" quick brown fox"]);
  });

  // " lazy" gets a bias just above the script's logit (60): it wins until the penalty pushes it below.
  const lazy = (bias: number, penalties: Body) => texts({ model: "text", prompt: "x", temperature: 0, max_tokens: 5, logit_bias: { [id(" lazy")]: bias }, ...penalties });

  test("presence_penalty lowers a token once it has appeared", async () => {
    expect(await lazy(61, {})).toEqual([" lazy".repeat(5)]);
    expect(await lazy(61, { presence_penalty: 2 })).toEqual([" lazy dog."]);
    expect(await lazy(63, { presence_penalty: 2 })).toEqual([" lazy".repeat(5)]);
  });

  test("frequency_penalty lowers a token by how often it has appeared", async () => {
    expect(await lazy(63, { frequency_penalty: 2 })).toEqual([" lazy lazy dog."]);
  });
});

describe("logprobs", () => {
  test("legacy logprobs: tokens, their logprobs, the top alternatives and offsets after the prompt", async () => {
    const completion = await create({ model: "text", prompt: "The quick", max_tokens: 3, temperature: 0, logprobs: 2 });
    const logprobs = completion.choices[0]!.logprobs!;
    expect(completion.choices[0]!.text).toBe(" brown fox jumps");
    expect(logprobs.tokens).toEqual([" brown", " fox", " jumps"]);
    expect(logprobs.text_offset).toEqual([9, 15, 19]);
    // the scripted model is certain of each next token
    for (const lp of logprobs.token_logprobs!) expect(lp).toBeCloseTo(0, 3);
    logprobs.top_logprobs!.forEach((top, i) => {
      expect(Object.keys(top!).length).toBeLessThanOrEqual(3);
      expect(top![logprobs.tokens![i]!]).toBe(logprobs.token_logprobs![i]!);
    });
  });

  test("logprobs are the model's probabilities: the greedy choice is the most likely and they sum to at most 1", async () => {
    const { json } = await post({ model: "tiny", prompt: "Hello there", max_tokens: 6, temperature: 0, logprobs: 5 });
    const { tokens, token_logprobs, top_logprobs } = json.choices[0].logprobs;
    expect(tokens.join("")).toBe(json.choices[0].text);
    token_logprobs.forEach((lp: number, i: number) => {
      const values = Object.values(top_logprobs[i]) as number[];
      expect(lp).toBeLessThan(0);
      expect(lp).toBeCloseTo(Math.max(...values), 5);
      expect(values.reduce((sum, v) => sum + Math.exp(v), 0)).toBeLessThanOrEqual(1.0001);
    });
  });

  test("echo with logprobs scores the prompt too; its first token has nothing before it, so null", async () => {
    const { json } = await post({ model: "text", prompt: "The quick", echo: true, max_tokens: 1, temperature: 0, logprobs: 1 });
    const { tokens, token_logprobs, top_logprobs, text_offset } = json.choices[0].logprobs;
    expect(json.choices[0].text).toBe("The quick brown");
    expect(tokens).toEqual(["The", " quick", " brown"]);
    expect(text_offset).toEqual([0, 3, 9]);
    expect(token_logprobs[0]).toBeNull();
    expect(top_logprobs[0]).toBeNull();
    expect(token_logprobs[1]).toBeCloseTo(0, 3);
  });

  test("echo, logprobs and max_tokens 0 score the prompt alone", async () => {
    const { json } = await post({ model: "tiny", prompt: "Hello there you", echo: true, max_tokens: 0, logprobs: 0 });
    const { tokens, token_logprobs } = json.choices[0].logprobs;
    expect(json.choices[0].text).toBe("Hello there you");
    expect(tokens).toHaveLength(vocab.tokenize("Hello there you").length);
    expect(token_logprobs[0]).toBeNull();
    for (const lp of token_logprobs.slice(1)) expect(lp).toBeLessThan(0);
    expect(json.usage.completion_tokens).toBe(0);
  });
});

// OpenAI's spec has no schema of its own for streamed completions: CreateCompletionResponse says chunks
// share its shape; CreateCompletionStreamResponse (test/support/openai-schemas.ts) is that shape with
// the nulls streaming carries, and every chunk, the final usage-only one too, is checked against it.
describe("streaming", () => {
  test("SSE of text_completion objects: text deltas, a finish chunk per choice, the usage chunk, then [DONE]", async () => {
    const { contentType, events } = await sse({ model: "text", prompt: "The quick", temperature: 0, stream_options: { include_usage: true } });
    expect(contentType).toStartWith("text/event-stream");
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    for (const chunk of chunks) expectValid("CreateCompletionStreamResponse", chunk);
    expect(chunks.every((c) => c.object === "text_completion" && c.id === chunks[0].id)).toBe(true);
    expect(chunks.slice(0, -1).map((c) => c.choices[0].text).join("")).toBe(after("The quick"));
    expect(chunks.at(-2).choices).toEqual([{ text: "", index: 0, logprobs: null, finish_reason: "stop" }]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 2, completion_tokens: expect.any(Number), total_tokens: expect.any(Number) });
  });

  test("without include_usage no usage is sent", async () => {
    const { events } = await sse({ model: "text", prompt: "The quick", temperature: 0 });
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    for (const chunk of chunks) expectValid("CreateCompletionStreamResponse", chunk);
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
  });

  test("the openai client streams several prompts and choices apart by index, with echo and logprobs", async () => {
    const stream = await client.completions.create({ model: "text", prompt: ["The quick", "The lazy"], n: 2, echo: true, logprobs: 1, temperature: 0, stream: true });
    const byIndex = new Map<number, { text: string; tokens: string[]; finish?: string | null }>();
    for await (const chunk of stream) {
      expectValid("CreateCompletionStreamResponse", chunk);
      for (const c of chunk.choices) {
        const entry = byIndex.get(c.index) ?? { text: "", tokens: [] };
        entry.text += c.text;
        entry.tokens.push(...(c.logprobs?.tokens ?? []));
        if (c.finish_reason) entry.finish = c.finish_reason;
        byIndex.set(c.index, entry);
      }
    }
    expect([...byIndex.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(byIndex.get(1)).toEqual({ text: SENTENCE, tokens: vocab.tokenize(SENTENCE).map((t) => vocab.text(t)), finish: "stop" });
    expect(byIndex.get(3)!.text).toBe("The lazy dog.");
  });
});

describe("cancellation", () => {
  // Both sequences (--parallel 2) busy with ~1000 forced tokens (seconds); a quick answer proves they were let go.
  const long = { model: "text", prompt: "x", temperature: 0, max_tokens: 2000, logit_bias: { [id(" lazy")]: 100 } };
  const start = (body: Body, signal: AbortSignal) =>
    fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });

  async function quickAnswerMs(): Promise<number> {
    const started = performance.now();
    expect(await texts({ model: "text", prompt: "The quick", max_tokens: 2, temperature: 0 })).toEqual([" brown fox"]);
    return performance.now() - started;
  }

  test("clients that drop their streams free the sequences", async () => {
    const controller = new AbortController();
    const streams = await Promise.all([0, 1].map(() => start({ ...long, stream: true }, controller.signal)));
    for (const res of streams) await res.body!.getReader().read();
    controller.abort();
    expect(await quickAnswerMs()).toBeLessThan(1500);
  });

  test("clients that hang up on non-streamed requests free the sequences", async () => {
    const controller = new AbortController();
    const pending = [0, 1].map(() => start(long, controller.signal).catch((err) => err));
    await Bun.sleep(300);
    controller.abort();
    for (const res of await Promise.all(pending)) expect(res.name).toBe("AbortError");
    expect(await quickAnswerMs()).toBeLessThan(1500);
  });
});

describe("errors", () => {
  test("suffix needs a model with the insert capability", async () => {
    const err = await client.completions.create({ model: "text", prompt: "def f(", suffix: "return x" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("suffix");
  });

  test("an unknown model is a 404 model_not_found", async () => {
    const err = await client.completions.create({ model: "no-such-model", prompt: "hi" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("model_not_found");
  });

  test("a prompt longer than the context is a 400 context_length_exceeded naming it", async () => {
    const { status, json } = await post({ model: "text", prompt: ["hi", "word ".repeat(1500)] });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: "context_length_exceeded", param: "prompt[1]" });
  });

  test("a 10 MB prompt is refused at once and a 10 MB stop string left out, neither tokenized for seconds; the server answers meanwhile", async () => {
    const big = "x".repeat(10 * 2 ** 20);
    for (const [body, param] of [[{ prompt: big }, "prompt"], [{ prompt: ["hi", big] }, "prompt[1]"], [{ prompt: "hi", stop: [big] }, undefined]] as const) {
      const started = performance.now();
      const answer = post({ model: "text", max_tokens: 1, ...body });
      const health = await fetch(`${server.url}/health`);
      const { status, json } = await answer;
      expect(health.status).toBe(200);
      // A stop string longer than any answer can hold is left out, not tokenized.
      if (param === undefined) expect(status).toBe(200);
      else {
        expect(status).toBe(400);
        expect(json.error).toMatchObject({ type: "invalid_request_error", code: "context_length_exceeded", param, message: expect.stringContaining(`${param} is at least`) });
      }
      expect(performance.now() - started).toBeLessThan(5_000);
    }
  });

  test.each([
    ["a token id outside the vocabulary", { prompt: [1, 99999] }, "prompt[1]"],
    ["a logit_bias token outside the vocabulary", { prompt: "x", logit_bias: { "99999": 1 } }, "logit_bias.99999"],
    ["logprobs above 5", { prompt: "x", logprobs: 6 }, "logprobs"],
    ["a wrong type", { prompt: "x", temperature: "warm" }, "temperature"],
    ["an empty prompt list", { prompt: [] }, "prompt"],
    ["best_of above n", { prompt: "x", best_of: 3 }, "best_of"],
  ])("%s is a 400 naming the field", async (_label, fields, param) => {
    const { status, json } = await post({ model: "text", ...fields });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param });
  });

  test("user is accepted and ignored", async () => {
    expect(await texts({ model: "text", prompt: "The quick", temperature: 0, user: "someone" })).toEqual([after("The quick")]);
  });
});
