#!/usr/bin/env bun
/**
 * `npm run bench:prediction`: predicted outputs. One request, an edit of a ~500-token document,
 * decoded without a prediction and with the document before the edit as the prediction
 * (OpenAI's `prediction`), on a model of the benchmark preset's shape (see bench/edit-model.ts),
 * through Hearth's engine in this process. Reports each side's decode time (first token to last)
 * and the speedup, their ratio; runs alternate sides so machine noise hits both alike, and the
 * answers must be identical.
 *
 *   bun scripts/bench-prediction.ts [--runs 5] [--threads N] [--drafting auto|on] [--json FILE]
 *
 * --drafting on drafts from the prediction at every step, to measure what drafting itself is worth
 * here; auto (the default, as `hearth serve`) drafts only once the sequence measured that it pays
 * (the warm-up request measures it).
 *
 * --threads defaults to Hearth's (the math cores). On a machine other work keeps busy, 1 thread
 * measures more steadily: llama.cpp's threads wait for each other at every step, so one of them
 * descheduled stalls them all.
 */
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.ts";
import type { DraftingMode } from "../src/engine/draft-payoff.ts";
import { ModelPool } from "../src/engine/model-pool.ts";
import { flashAttentionFor, loadRuntime } from "../src/engine/runtime.ts";
import type { GenerationRequest, Usage } from "../src/engine/types.ts";
import { ModelCatalog } from "../src/models/catalog.ts";
import { EDITED_DOCUMENT, ensureEditModel, ORIGINAL_DOCUMENT } from "./bench/edit-model.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    threads: { type: "string" },
    drafting: { type: "string", default: "auto" },
    json: { type: "string", default: join(import.meta.dir, "..", ".cache", "bench", "prediction.json") },
  },
});
const RUNS = Number(values.runs);
if (!["auto", "on"].includes(values.drafting!)) throw new Error(`--drafting must be auto or on, got "${values.drafting}"`);
const MODEL = "bench-edit";

interface Run {
  decodeMs: number;
  tokens: number;
  usage: Usage;
  content: string;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main() {
  const models = await mkdtemp(join(tmpdir(), "hearth-bench-prediction-"));
  await symlink(await ensureEditModel(), join(models, `${MODEL}.gguf`));
  const runtime = await loadRuntime("auto", values.threads === undefined ? undefined : Number(values.threads));
  const pool = new ModelPool(runtime.llama, {
    contextSize: 2048,
    parallel: 1,
    threads: runtime.threads,
    maxQueue: 1,
    maxLoadedModels: 1,
    memoryBudget: Infinity,
    flashAttention: flashAttentionFor("auto"),
    drafting: values.drafting as DraftingMode,
  });
  const engine = new Engine(runtime.llama, new ModelCatalog(models), pool);

  const edit = async (prediction?: string): Promise<Run> => {
    const request: GenerationRequest = {
      model: MODEL,
      messages: [
        { role: "system", content: "You edit documents. Answer with the whole edited document and nothing else." },
        { role: "user", content: `Fix the five words that break the pattern.\n\n${ORIGINAL_DOCUMENT}` },
      ],
      sampling: { temperature: 0 },
      maxTokens: 1000,
      stop: [],
      tools: [],
      toolChoice: "auto",
      parallelToolCalls: true,
      responseFormat: { type: "text" },
      n: 1,
      prediction,
    };
    let content = "";
    for await (const event of (await engine.start(request)).events) {
      if (event.type === "content") content += event.text;
      if (event.type === "done") return { decodeMs: event.timings.evalNs / 1e6, tokens: event.usage.completionTokens, usage: event.usage, content };
    }
    throw new Error("the generation ended without a done event");
  };

  const without: Run[] = [];
  const withPrediction: Run[] = [];
  try {
    // Warm both sides once: the load, first-touch page faults, the prompt's cache.
    await edit();
    await edit(ORIGINAL_DOCUMENT);
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? [false, true] : [true, false];
      for (const predicted of order) {
        if (predicted) withPrediction.push(await edit(ORIGINAL_DOCUMENT));
        else without.push(await edit());
      }
      console.log(`run ${run + 1}/${RUNS} done`);
    }
  } finally {
    await pool.dispose();
  }
  for (const run of [...without, ...withPrediction]) {
    if (run.content.trim() !== EDITED_DOCUMENT.trim()) throw new Error(`an answer is not the edited document: ${JSON.stringify(run.content.slice(0, 80))}…`);
  }

  const answerTokens = without[0]!.tokens;
  const side = (runs: Run[]) => {
    const decodeMs = median(runs.map((r) => r.decodeMs));
    return {
      decodeMs,
      tokensPerSecond: (answerTokens - 1) / (decodeMs / 1000),
      accepted: median(runs.map((r) => r.usage.acceptedPredictionTokens ?? 0)),
      rejected: median(runs.map((r) => r.usage.rejectedPredictionTokens ?? 0)),
    };
  };
  const summary = { without: side(without), with: side(withPrediction) };
  const speedup = summary.without.decodeMs / summary.with.decodeMs;
  const backend = runtime.llama.gpu === false ? `CPU, ${runtime.threads} thread${runtime.threads === 1 ? "" : "s"}` : runtime.description;
  console.log(`\nprediction bench: ${MODEL} (bench preset's shape), ${backend}, drafting ${values.drafting}; ${RUNS} interleaved runs, medians; a ${answerTokens}-token answer, greedy`);
  console.log(`${"".padEnd(20)}${"decode ms".padStart(11)}${"tokens/s".padStart(10)}${"accepted".padStart(10)}${"rejected".padStart(10)}`);
  for (const [label, s] of [["without prediction", summary.without], ["with prediction", summary.with]] as const) {
    console.log(`${label.padEnd(20)}${s.decodeMs.toFixed(0).padStart(11)}${s.tokensPerSecond.toFixed(1).padStart(10)}${String(s.accepted).padStart(10)}${String(s.rejected).padStart(10)}`);
  }
  console.log(`decode speedup with the prediction: ${speedup.toFixed(2)}x`);
  await mkdir(dirname(values.json!), { recursive: true });
  await writeFile(values.json!, JSON.stringify({ backend, drafting: values.drafting, runs: RUNS, answerTokens, ...summary, speedup, raw: { without: without.map(({ content: _, ...r }) => r), with: withPrediction.map(({ content: _, ...r }) => r) } }, null, 2));
  console.log(`raw numbers: ${values.json}`);
  await runtime.llama.dispose();
}

await main();
