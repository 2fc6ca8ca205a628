/**
 * Runs `streams` greedy generations at once on one context and prints, as JSON, the sequence ids
 * of every micro-batch llama.cpp computed: llama.cpp reports its micro-batches only in debug logs
 * enabled by LLAMA_BATCH_DEBUG, which it reads from the environment when a context is created, so
 * a test runs this in a process of its own with that variable set.
 *
 *   LLAMA_BATCH_DEBUG=1 bun test/support/ubatch-probe.ts STREAMS TOKENS sync|library
 */
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper } from "node-llama-cpp";
import { ensureModel } from "../../scripts/gen-model.ts";
import { keepSequencesInStep } from "../../src/engine/batch-sync.ts";

const [streams, tokens] = [Number(process.argv[2]), Number(process.argv[3])];
const sync = process.argv[4] === "sync";

const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath: await ensureModel("endless") });
const context = await model.createContext({ contextSize: 512, sequences: streams, threads: 1 });
if (sync) keepSequencesInStep(context);

const ubatches: number[][] = [];
let inUbatch = false;
llama.logLevel = LlamaLogLevel.debug;
llama.logger = (_level, message) => {
  // "added ubatch to split:" opens a micro-batch's report; its "seq_id_unq = [ 0 1 ]" line follows.
  if (message.includes("added ubatch")) inUbatch = true;
  const ids = /seq_id_unq\s*=\s*\[([\d\s]*)\]/.exec(message);
  if (ids && inUbatch) {
    ubatches.push(ids[1]!.trim().split(/\s+/).map(Number));
    inUbatch = false;
  }
};

const wrapper = resolveChatWrapper(model);
const sequences = Array.from({ length: streams }, () => context.getSequence());
await Promise.all(
  sequences.map((sequence, i) =>
    new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper }).generateResponse(
      [{ type: "user", text: "hi ".repeat(i + 1) }, { type: "model", response: [] }],
      { maxTokens: tokens, temperature: 0 },
    ),
  ),
);
llama.logLevel = LlamaLogLevel.warn;
console.log(JSON.stringify(ubatches));
await context.dispose();
await model.dispose();
await llama.dispose();
