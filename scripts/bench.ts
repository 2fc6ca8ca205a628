#!/usr/bin/env bun
/**
 * `npm run bench`: the benchmark preset (Qwen3-0.6B's shape) through Hearth's HTTP API, at
 * `--parallel 4` (the default) and at `--parallel 1`:
 *   - prefill of a ~1,000- and a ~8,000-token prompt (prompt tokens over the time to the first token);
 *   - single-stream decode after the ~1,000-token prompt;
 *   - aggregate decode at 1, 2 and 4 concurrent streams;
 *   - the second turn's time to first token in a ~1,000-token conversation against its first;
 * next to the same model driven by node-llama-cpp in this process (single stream and concurrent
 * sequences of one context). With LLAMA_SERVER naming a llama.cpp `llama-server` binary, the same
 * workload runs against it too, started with its own defaults. Runs are interleaved (each side in
 * turn, the order alternating) so machine noise hits every side alike; the bench says when the
 * machine was not idle.
 *
 *   bun scripts/bench.ts [--runs 3] [--tokens 64] [--prefill 1000,8000] [--json FILE] [--hearth-args "--flash-attention off"]
 */
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { inProcessBaseline } from "./bench/in-process.ts";
import { formatReport, summarize, type TargetRuns } from "./bench/report.ts";
import { startHearth, startLlamaServer, type RunningServer } from "./bench/servers.ts";
import { aggregate, secondTurn, singleStream, wordsForTokens } from "./bench/workload.ts";
import { ensureModel } from "./gen-model.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    tokens: { type: "string", default: "64" },
    prefill: { type: "string", default: "1000,8000" },
    "hearth-args": { type: "string", default: "" },
    json: { type: "string", default: join(import.meta.dir, "..", ".cache", "bench", "bench.json") },
  },
});
const RUNS = Number(values.runs);
const TOKENS = Number(values.tokens);
/** prompt lengths (tokens) whose prefill is measured; the first one's answer is the single-stream decode */
const PREFILL = values.prefill!.split(",").map(Number);
const HEARTH_ARGS = values["hearth-args"]!.split(" ").filter(Boolean);
const CONCURRENCY = [1, 2, 4];
const PARALLEL = 4;
/** room for the longest prompt and its answer in every sequence */
const CTX_SIZE = Math.max(4096, Math.ceil((Math.max(...PREFILL) + 1024) / 1024) * 1024);
/** llama-server's slots share one KV cache of this many cells (-c), the size its default run has here */
const LLAMA_SERVER_CTX = Math.max(16384, CTX_SIZE);
const MODEL = "bench";

async function measure(server: RunningServer, runs: TargetRuns, run: number, concurrency: number[]): Promise<void> {
  const tag = `${server.name} run ${run}`;
  for (const [i, tokens] of PREFILL.entries()) {
    const sample = await singleStream(server.url, MODEL, wordsForTokens(tokens), i === 0 ? TOKENS : 2, `${tag} prefill ${tokens}`);
    (runs.prefill[tokens] ??= []).push(sample);
    if (i === 0) runs.single.push(sample);
  }
  for (const streams of concurrency) {
    (runs.aggregate[streams] ??= []).push(await aggregate(server.url, MODEL, streams, TOKENS, `${tag} x${streams}`));
  }
  runs.secondTurn.push(await secondTurn(server.url, MODEL, wordsForTokens(1000), tag));
}

/** The 1-minute load average before the bench starts, against the cores: a busy machine skews every ratio. */
function loadWarning(): string | undefined {
  const load = loadavg()[0]!;
  const cores = availableParallelism();
  return load > 0.25 * cores ? `load average ${load.toFixed(2)} on ${cores} cores when the bench started: the machine was not idle, so the figures are noisy` : undefined;
}

async function main() {
  const busy = loadWarning();
  if (busy) console.warn(`warning: ${busy}`);
  const modelPath = await ensureModel("bench");
  const models = await mkdtemp(join(tmpdir(), "hearth-bench-"));
  await symlink(modelPath, join(models, `${MODEL}.gguf`));

  const baseline = await inProcessBaseline(modelPath, CTX_SIZE, PARALLEL);
  const servers: RunningServer[] = [await startHearth("hearth", models, PARALLEL, CTX_SIZE, HEARTH_ARGS), await startHearth("hearth --parallel 1", models, 1, CTX_SIZE, HEARTH_ARGS)];
  const llamaServer = process.env.LLAMA_SERVER;
  if (llamaServer) servers.push(await startLlamaServer(llamaServer, modelPath, LLAMA_SERVER_CTX, baseline.threads));
  /** a single sequence only answers the one-stream aggregate: more would queue */
  const concurrencyOf = (server: RunningServer) => (server.name.endsWith("--parallel 1") ? [1] : CONCURRENCY);

  const empty = (): TargetRuns => ({ prefill: {}, single: [], aggregate: {}, secondTurn: [] });
  const runs = new Map<string, TargetRuns>(servers.map((s) => [s.name, empty()]));
  const inProcess = empty();
  try {
    // Warm every side once: first-touch page faults, thread pools, the servers' first load.
    for (const server of servers) await singleStream(server.url, MODEL, 20, 8, `${server.name} warm-up`);
    await baseline.singleStream(20, 8, "in-process warm-up");
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) await measure(server, runs.get(server.name)!, run, concurrencyOf(server));
      const sample = await baseline.singleStream(wordsForTokens(PREFILL[0]!), TOKENS, `in-process run ${run}`);
      inProcess.single.push(sample);
      (inProcess.prefill[PREFILL[0]!] ??= []).push(sample);
      for (const streams of CONCURRENCY) (inProcess.aggregate[streams] ??= []).push(await baseline.aggregate(streams, TOKENS, `in-process run ${run} x${streams}`));
      console.log(`run ${run + 1}/${RUNS} done`);
    }
  } finally {
    for (const server of servers) await server.stop();
    await baseline.dispose();
  }

  const summary = summarize(runs, inProcess);
  console.log(`\nbench preset, ${RUNS} interleaved runs, medians (Hearth's ratios: the median of each run's ratio); ${baseline.backend}; ${TOKENS} tokens per answer`);
  for (const server of servers) console.log(`- ${server.name}: ${server.note}`);
  if (busy) console.log(`- warning: ${busy}`);
  console.log(formatReport(summary));
  await mkdir(dirname(values.json!), { recursive: true });
  const startup = Object.fromEntries(servers.map((s) => [s.name, s.startMs]));
  const notes = Object.fromEntries(servers.map((s) => [s.name, s.note]));
  await writeFile(values.json!, JSON.stringify({ runs: RUNS, tokens: TOKENS, prefill: PREFILL, backend: baseline.backend, busy, notes, startupMs: startup, summary, samples: { ...Object.fromEntries(runs), inProcess } }, null, 2));
  console.log(`wrote ${values.json}`);
}

await main();
