#!/usr/bin/env bun
/**
 * `npm run stress`: Hearth's reliability suite, against real server processes, printing figures.
 * The tests in test/stress run short versions of the same scenarios.
 *
 *   storm      64 concurrent streams on --parallel 4 across /v1/chat/completions, /api/chat and
 *              /api/generate, a third of the clients hanging up at random; every request completes,
 *              is cancelled or refused (503/429), and afterwards every sequence is idle, the queue empty
 *   soak       5,000 short requests over every dialect and read-only route; the server's resident
 *              memory after the first 500 and at the end must be within 10% (each the lowest
 *              reading over 1,000 requests: single readings swing with the garbage collector)
 *   bad-input  the bad-input corpus (scripts/stress/bad-input) against every documented route:
 *              always a 4xx in the dialect's shape, never a 5xx or a crash, nothing written outside
 *              the models folder
 *
 *   bun scripts/stress.ts [--only storm,soak,bad-input] [--rounds 3] [--clients 64] [--requests 5000]
 *                         [--seed N] [--json FILE]
 *
 * Exits 1 when any check fails, after printing what failed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { modelsFolder } from "../test/support/models.ts";
import { startServer } from "../test/support/server.ts";
import { CATEGORIES } from "./stress/bad-input/corpus.ts";
import { describeProblem, runCorpus, tallyResults } from "./stress/bad-input/run.ts";
import { openBadInputSession } from "./stress/bad-input/session.ts";
import { settle } from "./stress/server-state.ts";
import { rssGrowth, soak } from "./stress/soak.ts";
import { streamStorm, tally } from "./stress/stream-storm.ts";

const { values } = parseArgs({
  options: {
    only: { type: "string", default: "storm,soak,bad-input" },
    rounds: { type: "string", default: "3" },
    clients: { type: "string", default: "64" },
    requests: { type: "string", default: "5000" },
    seed: { type: "string", default: String(Date.now() % 2 ** 31) },
    json: { type: "string", default: join(import.meta.dir, "..", ".cache", "stress", "stress.json") },
  },
});
const only = new Set(values.only.split(","));
const seed = Number(values.seed);
const failures: string[] = [];
const figures: Record<string, unknown> = { seed };
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

if (only.has("storm")) {
  console.log(`\n## Stream storm: ${values.clients} clients × ${values.rounds} rounds, --parallel 4 --max-queue 12, a third hanging up (seed ${seed})\n`);
  const models = ["endless", "text", "tiny"] as const;
  const server = await startServer({ models: await modelsFolder([...models]), args: ["--parallel", "4", "--max-queue", "12", "--ctx-size", "512"] });
  try {
    const rounds = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      const results = await streamStorm({ url: server.url, clients: Number(values.clients), hangUpShare: 1 / 3, maxTokens: 24, models: [...models], seed: seed + round, hangUpWindowMs: 4_000 });
      const { outcomes, byRoute } = tally(results);
      const settled = await settle(server.url);
      console.log(`round ${round + 1}: ${JSON.stringify(outcomes)}; settled in ${settled.waitedMs} ms: queue ${settled.queueDepth}, busy sequences ${settled.busySequences}, held models [${settled.heldModels.join(", ")}]`);
      for (const [route, counts] of Object.entries(byRoute)) console.log(`  ${route}: ${JSON.stringify(counts)}`);
      for (const failed of results.filter((r) => r.outcome === "failed")) failures.push(`storm: client ${failed.client} ${failed.route} ${failed.model}: ${failed.status ?? ""} ${failed.detail}`);
      if (settled.queueDepth > 0 || settled.busySequences > 0 || settled.heldModels.length > 0) failures.push(`storm round ${round + 1}: not idle afterwards: ${JSON.stringify(settled)}`);
      rounds.push({ outcomes, byRoute, settled });
    }
    figures.storm = rounds;
  } finally {
    await server.stop();
  }
}

if (only.has("soak")) {
  const requests = Number(values.requests);
  console.log(`\n## Soak: ${requests} requests, 8 at a time, every dialect and read-only route\n`);
  const server = await startServer({ models: await modelsFolder(["text", "tiny"]), args: ["--parallel", "4"] });
  try {
    const trendEvery = 500;
    const window = 1_000;
    const report = await soak({ url: server.url, pid: server.pid, requests, concurrency: 8, baselineAfter: 500, window, trendEvery, models: { chat: "text", embed: "tiny" } }, (done, rss) =>
      console.log(`${String(done).padStart(6)} requests: RSS ${mib(rss)} (lowest over the last ${trendEvery})`),
    );
    const growth = rssGrowth(report);
    console.log(`\n${report.requests} requests in ${report.seconds.toFixed(0)} s (${(report.requests / report.seconds).toFixed(1)}/s)`);
    console.log(`RSS after 500 (lowest over requests 500-${500 + window}): ${mib(report.rssBaselineBytes)}; at the end (lowest over the last ${window}): ${mib(report.rssEndBytes)} (${(growth * 100).toFixed(1)}%)`);
    for (const [name, statuses] of Object.entries(report.statuses)) console.log(`  ${name.padEnd(24)} ${JSON.stringify(statuses)}`);
    for (const failed of report.failures) failures.push(`soak: ${failed.name}: ${failed.status ?? ""} ${failed.detail}`);
    if (Math.abs(growth) > 0.1) failures.push(`soak: RSS moved ${(growth * 100).toFixed(1)}% between request 500 and the end (limit 10%)`);
    figures.soak = report;
  } finally {
    await server.stop();
  }
}

if (only.has("bad-input")) {
  console.log("\n## Bad input: every documented route\n");
  const session = await openBadInputSession();
  try {
    const started = performance.now();
    const results = await runCorpus(session.corpus, session.target, {
      timeoutMs: 60_000,
      progress: (done, result) => {
        if (result.problem) console.log(describeProblem(result));
        if (done % 500 === 0) console.log(`… ${done} of ${session.corpus.length} cases`);
      },
    });
    const tallies = tallyResults(results);
    const problems = results.filter((r) => r.problem);
    const written = await session.writesOutsideModels();
    console.log(`\n${results.length} cases in ${((performance.now() - started) / 1000).toFixed(0)} s; ${problems.length} problems, ${session.starts() - 1} crashes`);
    for (const category of CATEGORIES) console.log(`  ${category.padEnd(16)} ${JSON.stringify(tallies[category] ?? {})}`);
    console.log(written.length === 0 ? "nothing written outside the models folder" : `written outside the models folder:\n  ${written.join("\n  ")}`);
    for (const problem of problems) failures.push(`bad input: ${describeProblem(problem)}`);
    for (const line of written) failures.push(`bad input: ${line}`);
    figures.badInput = { cases: results.length, tallies, problems: problems.map(describeProblem), written };
  } finally {
    await session.close();
  }
}

await mkdir(dirname(values.json), { recursive: true });
await writeFile(values.json, JSON.stringify(figures, null, 2));
console.log(`\nfigures written to ${values.json}`);
if (failures.length > 0) {
  console.log(`\n${failures.length} failure(s):\n${failures.join("\n")}`);
  process.exit(1);
}
console.log("\nall checks passed");
