import { getLlama, LlamaChat, resolveChatWrapper, type ChatHistoryItem, type LlamaContextSequence } from "node-llama-cpp";
import { flashAttentionFor } from "../../src/engine/runtime.ts";
import { singleStreamRates, uniqueText, type SingleStream } from "./workload.ts";

/**
 * The model driven directly by node-llama-cpp, as an application embedding it would: one context
 * with a sequence per stream and the library's own batching (without Hearth's keepSequencesInStep,
 * so the aggregate rows show what that adds), the same flash attention choice as Hearth.
 */
export async function inProcessBaseline(modelPath: string, ctxSize: number, parallel: number) {
  const llama = await getLlama({ gpu: "auto", build: "never" });
  const model = await llama.loadModel({ modelPath });
  // Hearth's default attention choice, so that the comparison is of Hearth's own overhead.
  const flashAttention = flashAttentionFor("auto");
  const context = await model.createContext({ contextSize: ctxSize, sequences: parallel, threads: llama.cpuMathCores, flashAttention });
  const sequences = Array.from({ length: parallel }, () => context.getSequence());
  const wrapper = resolveChatWrapper(model);

  async function generate(sequence: LlamaContextSequence, text: string, tokens: number) {
    const history: ChatHistoryItem[] = [{ type: "user", text }, { type: "model", response: [] }];
    const promptTokens = wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper });
    let firstMs = 0;
    let lastMs = 0;
    let count = 0;
    const startMs = performance.now();
    await chat.generateResponse(history, {
      maxTokens: tokens,
      temperature: 0,
      onToken: (generated) => {
        firstMs ||= performance.now();
        lastMs = performance.now();
        count += generated.length;
      },
    });
    chat.dispose({ disposeSequence: false });
    return { promptTokens, completionTokens: count, startMs, firstMs, lastMs };
  }

  return {
    backend: `${llama.gpu === false ? `CPU, ${llama.cpuMathCores} threads` : llama.gpu}, flash attention ${flashAttention}`,
    threads: llama.cpuMathCores,
    flashAttention,
    async singleStream(promptWords: number, tokens: number, tag: string): Promise<SingleStream> {
      const run = await generate(sequences[0]!, uniqueText(promptWords, tag), tokens);
      return singleStreamRates(run.promptTokens, run.completionTokens, run.startMs, run.firstMs, run.lastMs);
    },
    async aggregate(streams: number, tokens: number, tag: string): Promise<{ tps: number; completionTokens: number; wallMs: number }> {
      const runs = await Promise.all(sequences.slice(0, streams).map((sequence, i) => generate(sequence, uniqueText(12, `${tag}-${i}`), tokens)));
      const wallMs = Math.max(...runs.map((r) => r.lastMs)) - Math.min(...runs.map((r) => r.startMs));
      const completionTokens = runs.reduce((sum, r) => sum + r.completionTokens, 0);
      return { tps: completionTokens / (wallMs / 1000), completionTokens, wallMs };
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
