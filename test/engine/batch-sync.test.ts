import { afterAll, beforeAll, expect, test } from "bun:test";
import { getLlama, LlamaChat, resolveChatWrapper, type Llama, type LlamaModel } from "node-llama-cpp";
import { ensureModel } from "../../scripts/gen-model.ts";
import { keepSequencesInStep } from "../../src/engine/batch-sync.ts";

let llama: Llama;
let model: LlamaModel;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never" });
  model = await llama.loadModel({ modelPath: await ensureModel("endless") });
});

afterAll(async () => {
  await model?.dispose();
  await llama?.dispose();
});

/** Runs two greedy generations of `tokens` tokens at once on a two-sequence context; returns the batches llama.cpp decoded. */
async function batchesForTwoStreams(sync: boolean, tokens: number): Promise<number[]> {
  const context = await model.createContext({ contextSize: 512, sequences: 2, threads: 1 });
  if (sync) keepSequencesInStep(context);
  // Counts the batch sizes at the native boundary, the only place they show.
  const internal = context as unknown as { _ctx: { initBatch(size: number): void } };
  const native = internal._ctx;
  const sizes: number[] = [];
  internal._ctx = new Proxy(native, {
    get(target, property) {
      if (property === "initBatch") return (size: number) => (sizes.push(size), target.initBatch(size));
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const wrapper = resolveChatWrapper(model);
  const generate = async (text: string) => {
    const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper });
    await chat.generateResponse([{ type: "user", text }, { type: "model", response: [] }], { maxTokens: tokens, temperature: 0 });
  };
  await Promise.all([generate("hi"), generate("hello")]);
  await context.dispose();
  return sizes;
}

test("concurrent sequences decode in the same batches: one step per token, not one per token and sequence", async () => {
  const tokens = 30;
  const synced = await batchesForTwoStreams(true, tokens);
  // One batch with both prompts, then the tokens; the last step or two may hold only one sequence.
  expect(synced.length).toBeLessThanOrEqual(tokens + 2);
  expect(synced.filter((size) => size === 2).length).toBeGreaterThanOrEqual(tokens - 3);
});

test("without it node-llama-cpp alternates the two sequences in batches of one (drop the workaround when this fails)", async () => {
  const tokens = 30;
  const unsynced = await batchesForTwoStreams(false, tokens);
  expect(unsynced.filter((size) => size === 1).length).toBeGreaterThan(tokens);
});
