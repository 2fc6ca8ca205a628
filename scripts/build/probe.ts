/**
 * Minimal entry point for checking a single-executable build without the server:
 *
 *     bun scripts/build/build.ts --flavor cpu --entry scripts/build/probe.ts --outfile dist/hearth-probe-cpu
 *     ./dist/hearth-probe-cpu model.gguf [--gpu auto|cuda|vulkan|metal|cpu] [--tokens 16] [--threads 2]
 *
 * Loads node-llama-cpp the way the server does (`build: "never"`), generates a few tokens with
 * greedy sampling and prints one JSON line prefixed with `PROBE_RESULT ` (see ./testing.ts).
 */
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
        gpu: { type: "string", default: "auto" },
        tokens: { type: "string", default: "16" },
        threads: { type: "string", default: "2" },
        prompt: { type: "string", default: "Once upon a time" },
        /** one of node-llama-cpp's builtin grammars (`json`, `list`, ...), read from its embedded llama/grammars */
        grammar: { type: "string" }
    },
    allowPositionals: true
});

const startTime = performance.now();
const since = () => Math.round(performance.now() - startTime);
const threads = Number(values.threads);

const llama = await getLlama({
    gpu: values.gpu === "cpu" ? false : values.gpu as "auto",
    build: "never",
    maxThreads: threads,
    logLevel: LlamaLogLevel.warn
});
const result: Record<string, unknown> = {
    gpu: llama.gpu,
    buildType: llama.buildType,
    supportsGpuOffloading: llama.supportsGpuOffloading,
    llamaCppRelease: llama.llamaCppRelease,
    getLlamaMs: since()
};

const modelPath = positionals[0];
if (modelPath != null) {
    const model = await llama.loadModel({ modelPath, gpuLayers: llama.gpu === false ? 0 : "auto" });
    const context = await model.createContext({ threads, contextSize: 512 });
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    result.generated = await completion.generateCompletion(values.prompt, {
        maxTokens: Number(values.tokens),
        temperature: 0,
        grammar: values.grammar == null ? undefined : await llama.getGrammarFor(values.grammar as "json")
    });
    result.totalMs = since();
    await context.dispose();
    await model.dispose();
}
await llama.dispose();

console.log("PROBE_RESULT " + JSON.stringify(result));
