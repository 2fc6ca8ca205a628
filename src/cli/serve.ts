import type { Database } from "bun:sqlite";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Engine } from "../engine/engine.ts";
import { machineMemory } from "../engine/memory-estimate.ts";
import { flashAttentionFor, loadRuntime } from "../engine/runtime.ts";
import { ModelCatalog } from "../models/catalog.ts";
import { LeaseCountingPool } from "../observability/lease-counting-pool.ts";
import { Metrics } from "../observability/metrics.ts";
import { Telemetry } from "../observability/telemetry.ts";
import { Library } from "../rag/library.ts";
import { createApp } from "../server/app.ts";
import { InFlight } from "../server/in-flight.ts";
import { defaultDataDir } from "../store/data-dir.ts";
import { openDatabase } from "../store/database.ts";
import { VERSION } from "../version.ts";
import { ApiKeys } from "../auth/api-keys.ts";
import { Authenticator } from "../auth/authenticator.ts";
import { JwtVerifier, type JwtConfig } from "../auth/jwt.ts";
import { Limits } from "../auth/limits.ts";
import { parseKeyFile, StaticKeys } from "../auth/static-keys.ts";
import { Access } from "../server/access.ts";
import { Cors } from "../server/cors.ts";
import { stampRequestIds } from "../server/request-ids.ts";
import { UsageError, type ServeOptions } from "./options.ts";

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
  // Refused before anything loads: a server about to be open to the network without credentials.
  const db = openDatabase(dataDirOf(options));
  const authenticator = await authenticatorFor(options, db);
  if (!authenticator.enabled && !options.noAuth && !isLoopback(options.host)) {
    db.close();
    throw new UsageError(
      `refusing to serve ${options.host} without authentication: anyone on the network could use every model. ` +
        `Create a key with "hearth keys create --name NAME" (then restart), set HEARTH_API_KEY or --api-key-file, configure --jwt-jwks-url, ` +
        `or pass --no-auth to serve everyone who can reach the port on purpose.`,
    );
  }
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
    flashAttention: flashAttentionFor(options.flashAttention),
    drafting: options.predictionDrafting,
  });
  const metrics = new Metrics(pool);
  const telemetry = new Telemetry(metrics);
  const engine = new Engine(runtime.llama, catalog, pool, telemetry, { rerankModel: options.rerankModel });
  const library = new Library(engine, db, { dataDir: dataDirOf(options), embeddingModel: options.embeddingModel, maxFileSize: options.maxFileSize });
  const models = await catalog.list();
  const access = new Access(authenticator, new Limits(), new Cors(options.corsOrigins));
  const inFlight = new InFlight();
  // Request ids outermost, so that a shutdown's answers carry them too; then the in-flight tracker:
  // the telemetry and the routes see the request it hands on, whose signal a shutdown can abort.
  const handle = stampRequestIds(inFlight.wrap(telemetry.wrap(access.wrap(createApp(engine, { metrics, telemetry }, db, library).fetch))));
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
  console.log(`hearth: ${authenticator.enabled ? "authentication on" : "authentication off (anyone who can reach the port may use it)"}; data in ${dataDirOf(options)}`);
  for (const pair of options.instructModels) console.log(`hearth: with thinking off, "${pair.thinking}" is answered by "${pair.instruct}"`);
  // Once listening: files left in progress by a stop or a crash are indexed again while requests are served.
  library.start();
  if (options.rerankModel !== undefined) console.log(await rerankerLine(catalog, options.rerankModel));
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
    // Before the models go: the file being indexed is abandoned, to be indexed again at the next start.
    await library.stop();
    await pool.dispose();
    await runtime.llama.dispose();
    db.close();
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

function dataDirOf(options: ServeOptions): string {
  return resolve(options.dataDir ?? defaultDataDir(process.env));
}

/** Static keys (--api-key-file, HEARTH_API_KEY), a JWT issuer, and the store's keys. */
async function authenticatorFor(options: ServeOptions, db: Database): Promise<Authenticator> {
  const staticKeys = options.apiKeyFile === undefined ? [] : parseKeyFile(await readSecretFile(options.apiKeyFile, "--api-key-file"));
  if (process.env.HEARTH_API_KEY) staticKeys.push(process.env.HEARTH_API_KEY.trim());
  let jwt: JwtVerifier | undefined;
  if (options.jwtJwksUrl !== undefined || options.jwtSecretFile !== undefined) {
    let key: JwtConfig["key"];
    if (options.jwtJwksUrl !== undefined) key = { jwksUrl: options.jwtJwksUrl };
    else {
      const secret = new TextEncoder().encode((await readSecretFile(options.jwtSecretFile!, "--jwt-secret-file")).trim());
      if (secret.length < 32) throw new UsageError("--jwt-secret-file must hold at least 32 bytes: HS256 with a shorter secret can be guessed");
      key = { secret };
    }
    jwt = new JwtVerifier({ issuer: options.jwtIssuer!, audience: options.jwtAudience!, projectClaim: options.jwtProjectClaim, key });
  }
  return new Authenticator(new ApiKeys(db), new StaticKeys(staticKeys), jwt);
}

async function readSecretFile(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A default reranker that is missing or cannot rank is only warned about: it may be pulled or fixed while the server runs. */
async function rerankerLine(catalog: ModelCatalog, name: string): Promise<string> {
  const info = await catalog.get(name).catch(() => undefined);
  if (!info) return `hearth: warning: the default reranker "${name}" (--rerank-model) is not among the models yet`;
  if (!info.capabilities.includes("rerank")) return `hearth: warning: the default reranker "${name}" (--rerank-model) cannot rerank: it has no classification head`;
  return `hearth: retrieval reranks with "${name}"`;
}

/** Addresses only this machine can reach: serving them without credentials exposes nothing. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
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
