#!/usr/bin/env bun
/**
 * Decode and prefill speed of the benchmark preset (Qwen3-0.6B's shape) through Hearth's HTTP
 * API, next to the same model driven directly by node-llama-cpp in this process. Runs are
 * interleaved (HTTP, in-process, HTTP, …) so machine noise hits both sides alike.
 *
 *   bun scripts/bench.ts [--runs 3] [--tokens 64] [--prompt-words 300] [--json FILE]
 */
import { mkdtemp, mkdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { getLlama, LlamaChat, resolveChatWrapper, type ChatHistoryItem } from "node-llama-cpp";
import { ensureModel } from "./gen-model.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    tokens: { type: "string", default: "64" },
    "prompt-words": { type: "string", default: "300" },
    json: { type: "string", default: join(import.meta.dir, "..", ".cache", "bench", "bench.json") },
  },
});
const RUNS = Number(values.runs);
const TOKENS = Number(values.tokens);
const PROMPT_WORDS = Number(values["prompt-words"]);
const ROOT = join(import.meta.dir, "..");

interface Sample {
  promptTokens: number;
  completionTokens: number;
  ttftMs: number;
  decodeTps: number;
  prefillTps: number;
}

/** A different opening word each run, so no run can reuse another's cached prompt. */
function prompt(run: number): string {
  return `Run ${run} ${crypto.randomUUID()}: ` + Array.from({ length: PROMPT_WORDS }, (_, i) => `word${i % 97}`).join(" ");
}

function rates(promptTokens: number, completionTokens: number, startMs: number, firstMs: number, lastMs: number): Sample {
  const ttftMs = firstMs - startMs;
  return {
    promptTokens,
    completionTokens,
    ttftMs,
    prefillTps: promptTokens / (ttftMs / 1000),
    decodeTps: (completionTokens - 1) / ((lastMs - firstMs) / 1000),
  };
}

async function startServer(models: string): Promise<{ url: string; listeningMs: number; stop: () => Promise<void> }> {
  const started = performance.now();
  const proc = Bun.spawn({
    cmd: [process.execPath, "run", join(ROOT, "src", "main.ts"), "serve", "--port", "0", "--models", models, "--parallel", "1"],
    stdout: "pipe",
    stderr: "inherit",
  });
  const decoder = new TextDecoder();
  let out = "";
  for await (const chunk of proc.stdout) {
    out += decoder.decode(chunk);
    const match = out.match(/listening on (http:\/\/\S+)/);
    if (match) {
      console.log(out.trim());
      return { url: match[1]!, listeningMs: performance.now() - started, stop: async () => void (proc.kill(), await proc.exited) };
    }
  }
  throw new Error(`server exited before listening:\n${out}`);
}

async function httpRun(url: string, run: number): Promise<Sample> {
  const start = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "bench",
      messages: [{ role: "user", content: prompt(run) }],
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  let first = 0;
  let last = 0;
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of res.body!) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut).replace(/^data: /, "");
      buffer = buffer.slice(cut + 2);
      if (event === "[DONE]") continue;
      const chunk = JSON.parse(event);
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta;
      if (delta?.content || delta?.reasoning_content) {
        first ||= performance.now();
        last = performance.now();
      }
    }
  }
  if (!usage) throw new Error("no usage chunk");
  return rates(usage.prompt_tokens, usage.completion_tokens, start, first, last);
}

async function main() {
  const modelPath = await ensureModel("bench");
  const models = await mkdtemp(join(tmpdir(), "hearth-bench-"));
  await symlink(modelPath, join(models, "bench.gguf"));

  const server = await startServer(models);
  // In-process baseline: node-llama-cpp as an application would use it, same threads and context.
  const llama = await getLlama({ gpu: "auto", build: "never" });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 4096, sequences: 1, threads: llama.cpuMathCores });
  const sequence = context.getSequence();
  const wrapper = resolveChatWrapper(model);

  const direct = async (run: number): Promise<Sample> => {
    const history: ChatHistoryItem[] = [{ type: "user", text: prompt(run) }, { type: "model", response: [] }];
    const promptTokens = wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper });
    let first = 0;
    let last = 0;
    let count = 0;
    const start = performance.now();
    await chat.generateResponse(history, {
      maxTokens: TOKENS,
      temperature: 0,
      onToken: (tokens) => {
        first ||= performance.now();
        last = performance.now();
        count += tokens.length;
      },
    });
    chat.dispose({ disposeSequence: false });
    return rates(promptTokens, count, start, first, last);
  };

  // Warm both sides once (first-touch page faults, thread pools).
  await httpRun(server.url, -1);
  await direct(-2);

  const http: Sample[] = [];
  const inProcess: Sample[] = [];
  for (let run = 0; run < RUNS; run++) {
    http.push(await httpRun(server.url, run));
    inProcess.push(await direct(run + 1000));
  }
  await server.stop();
  await context.dispose();
  await model.dispose();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const row = (name: string, samples: Sample[]) => ({
    name,
    decodeTps: median(samples.map((s) => s.decodeTps)),
    prefillTps: median(samples.map((s) => s.prefillTps)),
    ttftMs: median(samples.map((s) => s.ttftMs)),
    completionTokens: median(samples.map((s) => s.completionTokens)),
    promptTokens: median(samples.map((s) => s.promptTokens)),
  });
  const rows = [row("hearth (HTTP)", http), row("node-llama-cpp (in-process)", inProcess)];
  console.log(`\nbench preset, ${RUNS} interleaved runs, medians; ${llama.gpu === false ? `CPU, ${llama.cpuMathCores} threads` : llama.gpu}`);
  console.log("| | decode tok/s | prefill tok/s | TTFT ms | prompt tok | completion tok |\n|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.name} | ${r.decodeTps.toFixed(1)} | ${r.prefillTps.toFixed(1)} | ${r.ttftMs.toFixed(0)} | ${r.promptTokens} | ${r.completionTokens} |`);
  const ratio = { decode: rows[0]!.decodeTps / rows[1]!.decodeTps, prefill: rows[0]!.prefillTps / rows[1]!.prefillTps };
  console.log(`\nhearth / in-process: decode ${ratio.decode.toFixed(3)}, prefill ${ratio.prefill.toFixed(3)}; server start to listening ${server.listeningMs.toFixed(0)} ms`);
  await mkdir(dirname(values.json!), { recursive: true });
  await writeFile(values.json!, JSON.stringify({ runs: RUNS, tokens: TOKENS, listeningMs: server.listeningMs, rows, ratio, samples: { http, inProcess } }, null, 2));
  console.log(`wrote ${values.json}`);
  await llama.dispose();
}

await main();
