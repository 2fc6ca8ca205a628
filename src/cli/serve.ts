import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Engine } from "../engine/engine.ts";
import { machineMemory } from "../engine/memory-estimate.ts";
import { flashAttentionFor, loadRuntime } from "../engine/runtime.ts";
import { ModelCatalog } from "../models/catalog.ts";
import { LeaseCountingPool } from "../observability/lease-counting-pool.ts";
import { Metrics } from "../observability/metrics.ts";
import { Telemetry } from "../observability/telemetry.ts";
import { createApp } from "../server/app.ts";
import { InFlight } from "../server/in-flight.ts";
import { VERSION } from "../version.ts";
import type { ServeOptions } from "./options.ts";

/** After a cut, how long the answers just ended get to reach their clients before connections are closed. */
const CUT_GRACE_MS = 2_000;
/** setTimeout fires at once for delays beyond 2^31 - 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RunningServer {
  url: string;
  /**
   * Stops accepting connections, lets the requests in flight finish for up to `timeoutMs`, ends
   * the rest with an error in their API's shape, then frees the models. Called again while it
   * waits, it stops waiting (a second Ctrl-C).
   */
  stop(timeoutMs: number): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const startedAt = performance.now();
  const runtime = await loadRuntime(options.gpu, options.threads);
  const catalog = new ModelCatalog(resolve(options.models), { ollamaModels: await ollamaStoreDir(options.ollamaModels), instructModels: options.instructModels });
  const pool = new LeaseCountingPool(runtime.llama, {
    contextSize: options.ctxSize,
    parallel: options.parallel,
    threads: runtime.threads,
    maxQueue: options.maxQueue,
    keepAliveMs: options.keepAliveMs,
    maxLoadedModels: options.maxLoadedModels,
    memoryBudget: options.memoryBudget === "auto" ? await machineMemory(runtime.llama) : options.memoryBudget,
    flashAttention: flashAttentionFor(options.flashAttention, runtime.llama),
    drafting: options.predictionDrafting,
  });
  const metrics = new Metrics(pool);
  const telemetry = new Telemetry(metrics);
  const engine = new Engine(runtime.llama, catalog, pool, telemetry);
  const models = await catalog.list();
  const inFlight = new InFlight();
  // The in-flight tracker outermost: the telemetry and the routes see the request it hands on, whose signal a shutdown can abort.
  const handle = inFlight.wrap(telemetry.wrap(createApp(engine, { metrics, telemetry }).fetch));
  // Bun.serve with a single fetch rather than Elysia's listen, whose per-route table would route
  // requests around the telemetry.
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    // No cut-off here: blob uploads are model weights of any size; the app refuses other bodies
    // over its limit with a 413 in the API's own error shape.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Closes keep-alive connections idle between requests; a request itself may take as long as
    // generating takes (Bun would otherwise cut a quiet non-streamed answer at the idle timeout).
    idleTimeout: 30,
    fetch(request, bun) {
      bun.timeout(request, 0);
      return handle(request);
    },
  });
  const url = `http://${formatHost(options.host)}:${server.port}`;
  const names = models.length > 0 ? models.map((m) => m.name).join(", ") : `none (put *.gguf files in ${catalog.dir})`;
  console.log(`hearth ${VERSION} listening on ${url} in ${Math.round(performance.now() - startedAt)} ms | backend ${runtime.description} | models: ${names}`);
  for (const pair of options.instructModels) console.log(`hearth: with thinking off, "${pair.thinking}" is answered by "${pair.instruct}"`);
  let hurry: (() => void) | undefined;
  let stopping: Promise<void> | undefined;
  const stop = async (timeoutMs: number) => {
    // Closes the listening socket and idle keep-alive connections; resolves once the answers in flight are sent.
    const drained = server.stop(false);
    if (inFlight.size > 0) console.error(`hearth: shutting down; waiting up to ${timeoutMs / 1000} s for ${inFlight.size} request(s) in flight`);
    const timeUp = new Promise<void>((resolve) => {
      hurry = resolve;
      setTimeout(resolve, Math.min(timeoutMs, MAX_TIMER_MS)).unref();
    });
    await Promise.race([drained, timeUp]);
    const cut = inFlight.cutAll();
    if (cut > 0) {
      console.error(`hearth: shutdown timeout: ended ${cut} request(s) in flight with an error`);
      await Promise.race([drained, Bun.sleep(CUT_GRACE_MS)]);
      // The cut generations stop at their next token; disposing the models under them would fail them noisily.
      await until(() => pool.busy() === 0, CUT_GRACE_MS);
    }
    await server.stop(true);
    await pool.dispose();
    await runtime.llama.dispose();
  };
  return {
    url,
    stop(timeoutMs) {
      if (stopping) hurry?.();
      else stopping = stop(timeoutMs);
      return stopping;
    },
  };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await Bun.sleep(10);
}

/** The Ollama store to serve: the one named, or Ollama's default folder when there is one. */
async function ollamaStoreDir(option: string | undefined): Promise<string | undefined> {
  if (option === "off" || option === "") return undefined;
  if (option !== undefined) return resolve(option);
  const fallback = join(homedir(), ".ollama", "models");
  return (await stat(fallback).catch(() => undefined))?.isDirectory() ? fallback : undefined;
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
