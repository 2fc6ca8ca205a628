#!/usr/bin/env bun
/**
 * `npm run bench`: the benchmark preset (Qwen3-0.6B's shape) through Hearth's HTTP API —
 * single-stream decode and prefill, aggregate throughput at 1, 2, 4 and 8 concurrent streams, and
 * the second turn's time to first token in a ~1000-token conversation — next to the same model
 * driven by node-llama-cpp in this process (single stream, and concurrent sequences of one context). With LLAMA_SERVER naming a llama.cpp `llama-server`
 * binary, the same workload runs against it too. Runs are interleaved (Hearth, llama-server,
 * in-process, then again, the servers' order alternating) so machine noise hits every side alike.
 *
 *   bun scripts/bench.ts [--runs 3] [--tokens 64] [--prompt-words 320] [--json FILE]
 */
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { inProcessBaseline } from "./bench/in-process.ts";
import { formatReport, summarize, type TargetRuns } from "./bench/report.ts";
import { startHearth, startLlamaServer, type RunningServer } from "./bench/servers.ts";
import { aggregate, secondTurn, singleStream } from "./bench/workload.ts";
import { ensureModel } from "./gen-model.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    tokens: { type: "string", default: "64" },
    "prompt-words": { type: "string", default: "320" },
    json: { type: "string", default: join(import.meta.dir, "..", ".cache", "bench", "bench.json") },
  },
});
const RUNS = Number(values.runs);
const TOKENS = Number(values.tokens);
const PROMPT_WORDS = Number(values["prompt-words"]);
/** Both servers get a sequence (slot) per stream of the largest concurrency, each with the full context. */
const CONCURRENCY = [1, 2, 4, 8];
const PARALLEL = Math.max(...CONCURRENCY);
const CTX_SIZE = 4096;
const MODEL = "bench";

async function measure(server: RunningServer, runs: TargetRuns, run: number): Promise<void> {
  const tag = `${server.name} run ${run}`;
  runs.single.push(await singleStream(server.url, MODEL, PROMPT_WORDS, TOKENS, tag));
  for (const streams of CONCURRENCY) {
    (runs.aggregate[streams] ??= []).push(await aggregate(server.url, MODEL, streams, TOKENS, `${tag} x${streams}`));
  }
  runs.secondTurn.push(await secondTurn(server.url, MODEL, PROMPT_WORDS, tag));
}

async function main() {
  const modelPath = await ensureModel("bench");
  const models = await mkdtemp(join(tmpdir(), "hearth-bench-"));
  await symlink(modelPath, join(models, `${MODEL}.gguf`));

  const baseline = await inProcessBaseline(modelPath, CTX_SIZE, PARALLEL);
  const servers = [await startHearth(models, PARALLEL, CTX_SIZE)];
  const llamaServer = process.env.LLAMA_SERVER;
  if (llamaServer) servers.push(await startLlamaServer(llamaServer, modelPath, PARALLEL, CTX_SIZE, baseline.threads, baseline.flashAttention));

  const runs = new Map<string, TargetRuns>(servers.map((s) => [s.name, { single: [], aggregate: {}, secondTurn: [] }]));
  const inProcess: TargetRuns = { single: [], aggregate: {}, secondTurn: [] };
  try {
    // Warm every side once: first-touch page faults, thread pools, the servers' first load.
    for (const server of servers) await singleStream(server.url, MODEL, 20, 8, `${server.name} warm-up`);
    await baseline.singleStream(20, 8, "in-process warm-up");
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) await measure(server, runs.get(server.name)!, run);
      inProcess.single.push(await baseline.singleStream(PROMPT_WORDS, TOKENS, `in-process run ${run}`));
      for (const streams of CONCURRENCY) (inProcess.aggregate[streams] ??= []).push(await baseline.aggregate(streams, TOKENS, `in-process run ${run} x${streams}`));
      console.log(`run ${run + 1}/${RUNS} done`);
    }
  } finally {
    for (const server of servers) await server.stop();
    await baseline.dispose();
  }

  const summary = summarize(runs, inProcess);
  console.log(`\nbench preset, ${RUNS} interleaved runs, medians; ${baseline.backend}; ${PROMPT_WORDS}-word prompts, ${TOKENS} tokens per answer`);
  console.log(formatReport(summary));
  await mkdir(dirname(values.json!), { recursive: true });
  const startup = Object.fromEntries(servers.map((s) => [s.name, s.startMs]));
  await writeFile(values.json!, JSON.stringify({ runs: RUNS, tokens: TOKENS, promptWords: PROMPT_WORDS, backend: baseline.backend, startupMs: startup, summary, samples: { ...Object.fromEntries(runs), inProcess } }, null, 2));
  console.log(`wrote ${values.json}`);
}

await main();
