import { afterAll, beforeAll, expect, test } from "bun:test";
import { getLlama, type Llama, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { LoadedModel } from "../../src/engine/loaded-model.ts";
import { ModelCatalog } from "../../src/models/catalog.ts";
import { modelsFolder } from "../support/models.ts";

// A real four-sequence context of the tiny model; which sequence a request gets decides whether
// llama.cpp can decode the busy ones in one pass (it batches only runs of consecutive ids).
let llama: Llama;
let model: LlamaModel;
let loaded: LoadedModel;
let ids: Map<LlamaContextSequence, number>;

beforeAll(async () => {
  const info = await new ModelCatalog(await modelsFolder(["tiny"])).get("tiny");
  llama = await getLlama({ gpu: false, build: "never" });
  model = await llama.loadModel({ modelPath: info.path });
  const context = await model.createContext({ contextSize: 256, sequences: 4, threads: 1 });
  const sequences = Array.from({ length: 4 }, () => context.getSequence());
  ids = new Map(sequences.map((sequence, id) => [sequence, id]));
  loaded = new LoadedModel(info, model, context, sequences, { gpuLayers: 0, threads: 1, useMmap: true }, 8);
});

afterAll(async () => {
  await loaded?.dispose();
  await llama?.dispose();
});

const prompt = (words: string) => model.tokenize(words);

/** Takes a sequence for `text`, evaluates it so the sequence caches it, and returns the sequence's id. */
async function take(text: string): Promise<[number, LlamaContextSequence]> {
  const sequence = await loaded.acquire(prompt(text));
  await sequence.clearHistory();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt(text));
  return [ids.get(sequence)!, sequence];
}

test("new requests fill the sequences beside the busy ones, so the busy ones stay a consecutive run", async () => {
  const [a, seqA] = await take("alpha one");
  const [b, seqB] = await take("bravo two");
  const [c, seqC] = await take("charlie three");
  const [d, seqD] = await take("delta four");
  expect([a, b, c, d]).toEqual([0, 1, 2, 3]);

  // Busy: 0 and 2. Idle, least recently used first: 3, 1. Both hold caches that an unrelated
  // prompt cannot use; 1 closes the gap between the busy two where 3 (the older) would leave it.
  loaded.release(seqD);
  loaded.release(seqB);
  const [e, seqE] = await take("echo five");
  expect(e).toBe(1);

  // Busy: 1 and 2. Idle, least recently used first: 3, 0: both sit beside the run; the older goes.
  loaded.release(seqA);
  const [f, seqF] = await take("foxtrot six");
  expect(f).toBe(3);

  // A prompt that continues a cached conversation still returns to its own sequence, though with
  // nothing busy the least recently used (0) would otherwise be taken.
  loaded.release(seqC);
  loaded.release(seqE);
  loaded.release(seqF);
  const [g] = await take("charlie three and more");
  expect(g).toBe(2);
});
