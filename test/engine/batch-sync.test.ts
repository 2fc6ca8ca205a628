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

/** The sequence ids of every micro-batch llama.cpp computed for `streams` concurrent generations (see the probe). */
async function microBatches(streams: number, tokens: number, mode: "sync" | "library"): Promise<number[][]> {
  const probe = Bun.spawn({
    cmd: [process.execPath, "test/support/ubatch-probe.ts", String(streams), String(tokens), mode],
    env: { ...process.env, LLAMA_BATCH_DEBUG: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(probe.stdout).text(), new Response(probe.stderr).text(), probe.exited]);
  if (code !== 0) throw new Error(`ubatch probe failed: ${err}`);
  return JSON.parse(out.trim().split("\n").pop()!);
}

test("four streams cost one pass over the weights per step: every decode is one micro-batch of all four sequences", async () => {
  const tokens = 20;
  const passes = await microBatches(4, tokens, "sync");
  // The prompts differ in length, so their evaluation splits into a few micro-batches; after that
  // each of the remaining steps is one micro-batch holding every sequence in id order.
  const everyone = passes.filter((ids) => ids.join() === "0,1,2,3");
  expect(everyone.length).toBeGreaterThanOrEqual(tokens - 1);
  expect(passes.length).toBeLessThanOrEqual(tokens + 4);
}, 60_000);

test("without it the same run takes over twice the passes: llama.cpp splits batches whose sequence ids are out of order", async () => {
  const tokens = 20;
  const passes = await microBatches(4, tokens, "library");
  expect(passes.length).toBeGreaterThan(2 * tokens);
}, 60_000);

test("without it node-llama-cpp alternates the two sequences in batches of one (drop the workaround when this fails)", async () => {
  const tokens = 30;
  const unsynced = await batchesForTwoStreams(false, tokens);
  expect(unsynced.filter((size) => size === 1).length).toBeGreaterThan(tokens);
});
