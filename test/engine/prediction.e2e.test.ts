import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getLlama, type Llama, type LlamaContext } from "node-llama-cpp";
import { SCRIPTED, TOOL_EXPECTED } from "../../scripts/gen-model.ts";
import { Engine } from "../../src/engine/engine.ts";
import { ModelPool } from "../../src/engine/model-pool.ts";
import type { EngineEvent, GenerationRequest, ToolCall, TokenLogprob, Usage } from "../../src/engine/types.ts";
import { ModelCatalog } from "../../src/models/catalog.ts";
import { modelsFolder } from "../support/models.ts";

// Predicted outputs on the engine itself: the prediction feeds speculative decoding, so the answer
// must be exactly the one without it while the usage counts the drafted tokens node-llama-cpp
// confirmed and refuted. `text` greedily writes one fixed sentence, `endless` " dog" forever.

let llama: Llama;
let pool: ModelPool;
let engine: Engine;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never" });
  // One thread: the models are tiny, and threads that wait for each other stall on a busy machine.
  pool = new ModelPool(llama, { contextSize: 1024, parallel: 2, threads: 1, maxQueue: 8, maxLoadedModels: 4, memoryBudget: Infinity, drafting: "on" });
  engine = new Engine(llama, new ModelCatalog(await modelsFolder(["text", "endless", "think", "tool", "tiny"])), pool);
});

afterAll(async () => {
  await pool?.dispose();
  await llama?.dispose();
});

interface Answer {
  content: string;
  reasoning: string;
  toolCalls: Array<Omit<ToolCall, "id">>;
  logprobs: TokenLogprob[];
  usage: Usage;
  /** the generated tokens: the done event's context past the prompt */
  tokens: number[];
}

async function generate(model: string, extra: Partial<GenerationRequest> = {}): Promise<Answer> {
  const request: GenerationRequest = {
    model,
    messages: [{ role: "user", content: "Write it again." }],
    sampling: { temperature: 0 },
    stop: [],
    tools: [],
    toolChoice: "auto",
    parallelToolCalls: true,
    responseFormat: { type: "text" },
    n: 1,
    ...extra,
  };
  const { events } = await engine.start(request);
  const answer: Answer = { content: "", reasoning: "", toolCalls: [], logprobs: [], usage: undefined as never, tokens: [] };
  for await (const event of events as AsyncIterable<EngineEvent>) {
    if (event.type === "content") {
      answer.content += event.text;
      answer.logprobs.push(...(event.logprobs ?? []));
    } else if (event.type === "reasoning") answer.reasoning += event.text;
    else if (event.type === "tool_call") answer.toolCalls.push({ name: event.call.name, arguments: event.call.arguments });
    else if (event.type === "done") {
      answer.usage = event.usage;
      answer.tokens = event.context.slice(event.usage.promptTokens);
    }
  }
  return answer;
}

/** The answer with the prediction is the one without it, token for token. */
async function expectSameAnswer(model: string, prediction: string, extra: Partial<GenerationRequest> = {}): Promise<{ plain: Answer; predicted: Answer }> {
  const plain = await generate(model, extra);
  const predicted = await generate(model, { ...extra, prediction });
  expect(predicted.tokens).toEqual(plain.tokens);
  expect(predicted.content).toBe(plain.content);
  expect(predicted.reasoning).toBe(plain.reasoning);
  expect(predicted.toolCalls).toEqual(plain.toolCalls);
  expect(predicted.logprobs).toEqual(plain.logprobs);
  return { plain, predicted };
}

const DOGS = SCRIPTED.endless.token.repeat(40);

describe("the answer is the same with a prediction", () => {
  test.each([
    ["greedy", { temperature: 0 }],
    ["temperature 0.8, seed 1", { temperature: 0.8, seed: 1 }],
    ["temperature 0.8, seed 42", { temperature: 0.8, seed: 42 }],
    ["temperature 1.5, seed 7, top_p 1", { temperature: 1.5, seed: 7, topP: 1 }],
  ])("a matching prediction, %s: drafts are accepted", async (_label, sampling) => {
    const { plain, predicted } = await expectSameAnswer("text", SCRIPTED.text.content, { sampling });
    expect(plain.content).toBe(SCRIPTED.text.content);
    // One drafted token per decode step, so about half of the answer's tokens.
    expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThanOrEqual(4);
    expect(predicted.usage.rejectedPredictionTokens).toBe(0);
    expect(predicted.usage.completionTokens).toBe(plain.usage.completionTokens);
  });

  test("a prediction that differs in places: drafts are accepted up to each difference and rejected at it", async () => {
    const { plain, predicted } = await expectSameAnswer("text", "The quick red fox jumps over the lazy cat.", { sampling: { temperature: 0.7, seed: 3 } });
    expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThan(0);
    expect(predicted.usage.rejectedPredictionTokens).toBeGreaterThan(0);
    // Rejected drafts were evaluated as output, as OpenAI counts them.
    expect(predicted.usage.completionTokens).toBe(plain.usage.completionTokens + predicted.usage.rejectedPredictionTokens!);
  });

  test("a prediction matching nothing drafts at most its first token, and changes nothing", async () => {
    const { predicted } = await expectSameAnswer("text", "Zebras 1234567 never appear here", { sampling: { temperature: 0.9, seed: 5 } });
    expect(predicted.usage.acceptedPredictionTokens).toBe(0);
    expect(predicted.usage.rejectedPredictionTokens).toBeLessThanOrEqual(1);
  });

  test("a long answer: about every other token is a confirmed draft", async () => {
    const { predicted } = await expectSameAnswer("endless", DOGS, { maxTokens: 40 });
    expect(predicted.tokens.length).toBe(40);
    expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThanOrEqual(18);
    expect(predicted.usage.rejectedPredictionTokens).toBe(0);
  });

  test("without a prediction usage has no prediction counts", async () => {
    const answer = await generate("text");
    expect(answer.usage.acceptedPredictionTokens).toBeUndefined();
    expect(answer.usage.rejectedPredictionTokens).toBeUndefined();
  });

  test("n > 1: every choice drafts from the prediction", async () => {
    const plain = await generate("endless", { maxTokens: 10, n: 3 });
    const predicted = await generate("endless", { maxTokens: 10, n: 3, prediction: DOGS });
    expect(predicted.content).toBe(plain.content);
    expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThanOrEqual(3 * 4);
  });
});

/** Records the arguments of every call the context makes to a native method, at the native boundary (the only place batches and draws show). */
function recordNative(context: LlamaContext, method: "initBatch" | "sampleToken"): { calls: unknown[][]; stop(): void } {
  const internal = context as unknown as { _ctx: Record<string, (...args: unknown[]) => unknown> };
  const native = internal._ctx;
  const calls: unknown[][] = [];
  internal._ctx = new Proxy(native, {
    get(target, property) {
      if (property === method) return (...args: unknown[]) => (calls.push(args), target[method]!(...args));
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { calls, stop: () => (internal._ctx = native) };
}

async function withEndlessContext<T>(use: (context: LlamaContext) => Promise<T>): Promise<T> {
  const hold = await pool.hold(await engine.catalog.get("endless"));
  try {
    return await use(hold.loaded.context);
  } finally {
    hold.release();
  }
}

test("a rejected draft takes no draw from the seeded sampler: the draws are those of the answer without a prediction", async () => {
  // With top_p 1 every sample draws from the random generator, even where the scripted model leaves no choice.
  const sampling = { temperature: 1, topP: 1, seed: 11 };
  await withEndlessContext(async (context) => {
    const plainDraws = recordNative(context, "sampleToken");
    const plain = await generate("endless", { maxTokens: 30, sampling });
    plainDraws.stop();
    const predictedDraws = recordNative(context, "sampleToken");
    const predicted = await generate("endless", { maxTokens: 30, sampling, prediction: " dog dog cat".repeat(20) });
    predictedDraws.stop();
    expect(predicted.tokens).toEqual(plain.tokens);
    expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThan(0);
    expect(predicted.usage.rejectedPredictionTokens).toBeGreaterThan(0);
    expect(predictedDraws.calls.length).toBe(plainDraws.calls.length);
  });
});

test("a predicted and an unpredicted answer at once decode in shared steps", async () => {
  await withEndlessContext(async (context) => {
    const batches = recordNative(context, "initBatch");
    try {
      const [plain, predicted] = await Promise.all([generate("endless", { maxTokens: 40 }), generate("endless", { maxTokens: 40, prediction: DOGS })]);
      expect(plain.content).toBe(DOGS);
      expect(predicted.content).toBe(DOGS);
      expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThanOrEqual(18);
      // The unpredicted answer takes a step per token, the predicted one two tokens per step (its
      // token and a draft) in the same steps: had they alternated, there would be about 60 steps.
      const sizes = batches.calls.map(([size]) => size);
      expect(sizes.length).toBeLessThanOrEqual(40 + 3);
      expect(sizes.filter((size) => size === 3).length).toBeGreaterThanOrEqual(15);
    } finally {
      batches.stop();
    }
  });
});

describe("with the other generation features", () => {
  test("logprobs are those of the answer without a prediction", async () => {
    const { plain, predicted } = await expectSameAnswer("text", SCRIPTED.text.content, { topLogprobs: 2 });
    expect(plain.logprobs.length).toBe(SCRIPTED.text.tokens.length);
    expect(predicted.usage.acceptedPredictionTokens).toBeGreaterThan(0);
  });

  test("a grammar (response_format choice) keeps the answer", async () => {
    const choices = ["The quick brown fox", "The lazy dog", "Something else"];
    const { plain } = await expectSameAnswer("text", "The quick brown fox", { responseFormat: { type: "choice", choices } });
    expect(choices).toContain(plain.content);
  });

  test("thinking: reasoning and answer are kept", async () => {
    const { plain } = await expectSameAnswer("think", SCRIPTED.think.content, { reasoning: true });
    expect(plain.reasoning).toBe(SCRIPTED.think.reasoning);
    expect(plain.content).toBe(SCRIPTED.think.content);
  });

  test("tools: the call is kept", async () => {
    const tools = [{ name: TOOL_EXPECTED.functionName, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const { plain } = await expectSameAnswer("tool", TOOL_EXPECTED.raw, { tools });
    expect(plain.toolCalls).toEqual([{ name: TOOL_EXPECTED.functionName, arguments: TOOL_EXPECTED.params }]);
  });

  test("repetition penalties: nothing is drafted (they would see a drafted position's history one token short)", async () => {
    // The random-weight model, whose logits penalties do change (the scripted ones leave no choice).
    const sampling = { temperature: 0, presencePenalty: 1.5 };
    const { predicted } = await expectSameAnswer("tiny", (await generate("tiny", { sampling, maxTokens: 40 })).content, { sampling, maxTokens: 40 });
    expect(predicted.usage.acceptedPredictionTokens).toBe(0);
    expect(predicted.usage.rejectedPredictionTokens).toBe(0);
  });
});
