import { resolve } from "node:path";
import { Engine } from "../engine/engine.ts";
import { ModelPool } from "../engine/model-pool.ts";
import { loadRuntime } from "../engine/runtime.ts";
import { ModelCatalog } from "../models/catalog.ts";
import { BUN_BODY_LIMIT, createApp } from "../server/app.ts";
import { VERSION } from "../version.ts";
import type { ServeOptions } from "./options.ts";

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const startedAt = performance.now();
  const runtime = await loadRuntime(options.gpu, options.threads);
  const catalog = new ModelCatalog(resolve(options.models));
  const pool = new ModelPool(runtime.llama, { contextSize: options.ctxSize, parallel: options.parallel, threads: runtime.threads, maxQueue: options.maxQueue, keepAliveMs: options.keepAliveMs });
  const engine = new Engine(runtime.llama, catalog, pool);
  const models = await catalog.list();
  const app = createApp(engine).listen({ hostname: options.host, port: options.port, maxRequestBodySize: BUN_BODY_LIMIT });
  const url = `http://${formatHost(options.host)}:${app.server!.port}`;
  const names = models.length > 0 ? models.map((m) => m.name).join(", ") : `none (put *.gguf files in ${catalog.dir})`;
  console.log(`hearth ${VERSION} listening on ${url} in ${Math.round(performance.now() - startedAt)} ms | backend ${runtime.description} | models: ${names}`);
  return {
    url,
    async stop() {
      await app.stop(true);
      await pool.dispose();
      await runtime.llama.dispose();
    },
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
