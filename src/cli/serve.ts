import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Engine } from "../engine/engine.ts";
import { machineMemory } from "../engine/memory-estimate.ts";
import { ModelPool } from "../engine/model-pool.ts";
import { flashAttentionFor, loadRuntime } from "../engine/runtime.ts";
import { ModelCatalog } from "../models/catalog.ts";
import { Metrics } from "../observability/metrics.ts";
import { Telemetry } from "../observability/telemetry.ts";
import { createApp } from "../server/app.ts";
import { VERSION } from "../version.ts";
import type { ServeOptions } from "./options.ts";

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const startedAt = performance.now();
  const runtime = await loadRuntime(options.gpu, options.threads);
  const catalog = new ModelCatalog(resolve(options.models), { ollamaModels: await ollamaStoreDir(options.ollamaModels) });
  const pool = new ModelPool(runtime.llama, {
    contextSize: options.ctxSize,
    parallel: options.parallel,
    threads: runtime.threads,
    maxQueue: options.maxQueue,
    keepAliveMs: options.keepAliveMs,
    maxLoadedModels: options.maxLoadedModels,
    memoryBudget: options.memoryBudget === "auto" ? await machineMemory(runtime.llama) : options.memoryBudget,
    flashAttention: flashAttentionFor(options.flashAttention, runtime.llama),
  });
  const metrics = new Metrics(pool);
  const telemetry = new Telemetry(metrics);
  const engine = new Engine(runtime.llama, catalog, pool, telemetry);
  const models = await catalog.list();
  const handle = telemetry.wrap(createApp(engine, { metrics, telemetry }).fetch);
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
  return {
    url,
    async stop() {
      await server.stop(true);
      await pool.dispose();
      await runtime.llama.dispose();
    },
  };
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
