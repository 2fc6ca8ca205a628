#!/usr/bin/env bun
/**
 * `npm run bench:pull`: Hearth pulling a 1 GiB blob from a local registry (the tests' fake one:
 * a 307 to its CDN host, then Range parts) against curl fetching the same blob from the same
 * server, interleaved run by run. Reports each side's throughput, Hearth's ratio to curl, and the
 * growth of Hearth's resident memory during its pulls (a pull must stream to disk, never hold a blob).
 *
 *   bun scripts/bench-pull.ts [--runs 3] [--mib 1024] [--json FILE]
 */
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { bigBlobFile, startFakeRegistry } from "../test/support/registry/fake-registry.ts";
import { startServer } from "../test/support/server.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    mib: { type: "string", default: "1024" },
    json: { type: "string", default: join(import.meta.dir, "..", ".cache", "bench", "pull.json") },
  },
});
const RUNS = Number(values.runs);
const BYTES = Number(values.mib) * 1024 * 1024;
const CACHE = join(import.meta.dir, "..", ".cache", "bench", "pull");

/** The blob is made once and kept (with its digest beside it): writing 1 GiB takes seconds. */
async function blob(): Promise<{ path: string; digest: string }> {
  const path = join(CACHE, `blob-${BYTES}`);
  const digestFile = `${path}.sha256`;
  const known = await readFile(digestFile, "utf8").catch(() => undefined);
  if (known && (await stat(path).catch(() => undefined))?.size === BYTES) return { path, digest: known };
  await mkdir(CACHE, { recursive: true });
  const made = await bigBlobFile(path, BYTES);
  await writeFile(digestFile, made.digest);
  return { path, digest: made.digest };
}

function rssBytes(pid: number): number {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main() {
  const source = await blob();
  const registry = await startFakeRegistry();
  const manifest = await registry.addModel("library/big", "v1", { model: { path: source.path, digest: source.digest } });
  const models = join(CACHE, "models");
  await rm(models, { recursive: true, force: true });
  const hearth = await startServer({ models });
  const name = `${registry.host}/library/big:v1`;
  const blobUrl = `${registry.url}/v2/library/big/blobs/${manifest.layers[0]!.digest}`;
  const out = join(CACHE, "curl-out");
  const samples = { hearthMBps: [] as number[], curlMBps: [] as number[], rssGrowthMiB: [] as number[] };
  try {
    for (let run = 0; run < RUNS; run++) {
      const sides = run % 2 === 0 ? ["curl", "hearth"] : ["hearth", "curl"];
      for (const side of sides) {
        if (side === "curl") {
          const started = performance.now();
          const curl = Bun.spawn(["curl", "-sf", "-L", "-o", out, blobUrl]);
          if ((await curl.exited) !== 0) throw new Error("curl failed");
          samples.curlMBps.push(BYTES / 1e6 / ((performance.now() - started) / 1000));
          await rm(out, { force: true });
        } else {
          await rm(join(models, "blobs"), { recursive: true, force: true });
          await rm(join(models, "manifests"), { recursive: true, force: true });
          const baseline = rssBytes(hearth.pid);
          let peak = baseline;
          const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(hearth.pid))), 20);
          const started = performance.now();
          const res = await fetch(`${hearth.url}/api/pull`, { method: "POST", body: JSON.stringify({ model: name, insecure: true, stream: false }) });
          const body = await res.json();
          clearInterval(sampler);
          if (res.status !== 200) throw new Error(`pull failed: ${JSON.stringify(body)}`);
          samples.hearthMBps.push(BYTES / 1e6 / ((performance.now() - started) / 1000));
          samples.rssGrowthMiB.push((Math.max(peak, rssBytes(hearth.pid)) - baseline) / 2 ** 20);
        }
      }
      console.log(`run ${run + 1}/${RUNS}: hearth ${samples.hearthMBps.at(-1)!.toFixed(0)} MB/s, curl ${samples.curlMBps.at(-1)!.toFixed(0)} MB/s, RSS +${samples.rssGrowthMiB.at(-1)!.toFixed(1)} MiB`);
    }
  } finally {
    await hearth.stop();
    await registry.stop();
  }
  const hearthMBps = median(samples.hearthMBps);
  const curlMBps = median(samples.curlMBps);
  const ratios = samples.hearthMBps.map((h, i) => h / samples.curlMBps[i]!);
  const rss = Math.max(...samples.rssGrowthMiB);
  console.log(`\npull of a ${values.mib} MiB blob from a local registry (307 to its CDN), ${RUNS} interleaved runs, medians`);
  console.log("| | Hearth /api/pull | curl -L | Hearth ÷ curl | target |");
  console.log("|---|---|---|---|---|");
  console.log(`| throughput (MB/s) | ${hearthMBps.toFixed(0)} | ${curlMBps.toFixed(0)} | **${median(ratios).toFixed(2)}** | ≥ 0.90 |`);
  console.log(`| peak RSS growth during the pull | ${rss.toFixed(1)} MiB | | | < 64 MiB |`);
  await mkdir(dirname(values.json!), { recursive: true });
  await writeFile(values.json!, JSON.stringify({ bytes: BYTES, runs: RUNS, samples, ratio: median(ratios) }, null, 2));
  console.log(`wrote ${values.json}`);
}

await main();
