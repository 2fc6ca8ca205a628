import { parseArgs } from "node:util";
import { keepAliveMs } from "../engine/keep-alive.ts";
import { FLASH_ATTENTION_CHOICES, GPU_CHOICES, type FlashAttentionChoice, type GpuChoice } from "../engine/runtime.ts";
import { DRAFTING_MODES, type DraftingMode } from "../engine/draft-payoff.ts";
import { parseInstructPair, type InstructPair } from "../models/instruct-pairs.ts";

export interface ServeOptions {
  host: string;
  port: number;
  models: string;
  ctxSize: number;
  parallel: number;
  /** undefined = the cores node-llama-cpp reports for math, decided once the runtime is loaded */
  threads?: number;
  gpu: GpuChoice;
  maxQueue: number;
  /** ms a model stays loaded after its last request; Infinity = forever */
  keepAliveMs: number;
  maxLoadedModels: number;
  /** bytes the loaded models may take; "auto" = the machine's RAM plus dedicated GPU memory */
  memoryBudget: number | "auto";
  flashAttention: FlashAttentionChoice;
  /** an Ollama installation's model store served read-only; undefined = ~/.ollama/models when it exists; "off" = none */
  ollamaModels?: string;
  /** ms that requests in flight at SIGTERM may take to finish before they are ended with an error */
  shutdownTimeoutMs: number;
  /** when sequences draft tokens from a request's prediction (OpenAI's predicted outputs) */
  predictionDrafting: DraftingMode;
  /** reasoning models paired with the instruct models that answer when thinking is off */
  instructModels: InstructPair[];
  /** the reranker retrieval uses (rag_params.rerank) when a request names none; undefined = none */
  rerankModel?: string;
  /** where the store (keys, conversations, stored responses) lives; undefined = $XDG_DATA_HOME/hearth */
  dataDir?: string;
  /** a file of static keys, one per line */
  apiKeyFile?: string;
  /** serve without credentials on a non-loopback address, on purpose */
  noAuth: boolean;
  /** JWTs: a JWKS to verify them with (RS/PS/ES/EdDSA) or a file holding an HS256 secret, and the claims they must carry */
  jwtJwksUrl?: string;
  jwtSecretFile?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  /** the claim naming a token's project */
  jwtProjectClaim: string;
  /** origins browsers may call from (CORS); none by default */
  corsOrigins: string[];
  /** the model vector stores embed with unless they name one; undefined = each store must name one */
  embeddingModel?: string;
  /** bytes an uploaded file (POST /v1/files) may have */
  maxFileSize: number;
}

interface OptionSpec {
  key: keyof ServeOptions;
  flag: string;
  env: string;
  /** Ollama's variable for the same setting, read when Hearth's own is not set */
  ollamaEnv?: string;
  placeholder: string;
  help: string;
  default: string;
  /** a value, or for a repeatable flag one item of the list */
  parse: (raw: string, source: string) => unknown;
  /** no default value: serve decides once it runs (threads from the runtime, the Ollama store from the disk) */
  decidedLater?: boolean;
  /** the flag value that parses back to `value` (default: String(value)) */
  format?: (value: never) => string;
  /** the flag may be given many times (the variable holds a comma-separated list): the value is the list of parsed items */
  repeatable?: boolean;
  /** a switch without a value (`--no-auth`); its variable is on when set to 1 or true */
  boolean?: boolean;
}

export class UsageError extends Error {}

function positiveInt(raw: string, source: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${source} must be a positive integer, got "${raw}"`);
  return n;
}

function nonNegativeInt(raw: string, source: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${source} must be a non-negative integer, got "${raw}"`);
  return n;
}

function duration(raw: string, source: string): number {
  try {
    return keepAliveMs(raw)!;
  } catch {
    throw new UsageError(`${source} must be a duration such as "5m", "1h30m" or a number of seconds, got "${raw}"`);
  }
}

function nonNegativeDuration(raw: string, source: string): number {
  const ms = duration(raw, source);
  // keep-alive durations read a negative value as "forever"; waiting forever to shut down is no choice.
  if (ms === Infinity) throw new UsageError(`${source} must not be negative, got "${raw}"`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** Bytes in a size such as "16GiB", "8GB" or "65536"; undefined when the text is none. */
function bytesIn(raw: string): number | undefined {
  const match = raw.trim().match(/^(\d+(?:\.\d+)?)\s*([a-z]*)$/i);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) <= 0) return undefined;
  return Math.floor(Number(match[1]) * unit);
}

function memorySize(raw: string, source: string): number | "auto" {
  if (raw === "auto") return "auto";
  const bytes = bytesIn(raw);
  if (bytes === undefined) throw new UsageError(`${source} must be "auto" or a size such as "16GiB", "8GB" or a number of bytes, got "${raw}"`);
  return bytes;
}

function fileSize(raw: string, source: string): number {
  const bytes = bytesIn(raw);
  if (bytes === undefined) throw new UsageError(`${source} must be a size such as "512MB", "2GiB" or a number of bytes, got "${raw}"`);
  return bytes;
}

function flashAttention(raw: string, source: string): FlashAttentionChoice {
  if (!FLASH_ATTENTION_CHOICES.includes(raw as FlashAttentionChoice)) throw new UsageError(`${source} must be one of ${FLASH_ATTENTION_CHOICES.join(", ")}, got "${raw}"`);
  return raw as FlashAttentionChoice;
}

function parsePort(raw: string, source: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${source} must be a port number 0-65535, got "${raw}"`);
  return n;
}

function draftingMode(raw: string, source: string): DraftingMode {
  if (!DRAFTING_MODES.includes(raw as DraftingMode)) throw new UsageError(`${source} must be one of ${DRAFTING_MODES.join(", ")}, got "${raw}"`);
  return raw as DraftingMode;
}

function instructPair(raw: string, source: string): InstructPair {
  const pair = parseInstructPair(raw);
  if (typeof pair === "string") throw new UsageError(`${source} ${pair}`);
  return pair;
}

function switchValue(raw: string, source: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off", ""].includes(value)) return false;
  throw new UsageError(`${source} must be 1 or 0 (true or false), got "${raw}"`);
}

function httpUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} must be a URL, got "${raw}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`${source} must be an http(s) URL, got "${raw}"`);
  return url.href;
}

function origin(raw: string, source: string): string {
  const value = raw.trim();
  if (value === "*") return value;
  try {
    const url = new URL(value);
    if (url.origin !== "null" && url.origin === value.replace(/\/$/, "")) return url.origin;
  } catch {
    // worded below
  }
  throw new UsageError(`${source} must be an origin such as "https://chat.home.arpa" or "http://localhost:3000" (scheme, host and port only), or *; got "${raw}"`);
}

function gpu(raw: string, source: string): GpuChoice {
  if (!GPU_CHOICES.includes(raw as GpuChoice)) throw new UsageError(`${source} must be one of ${GPU_CHOICES.join(", ")}, got "${raw}"`);
  return raw as GpuChoice;
}

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { key: "host", flag: "host", env: "HEARTH_HOST", placeholder: "ADDR", default: "127.0.0.1", help: "address to listen on (0.0.0.0 for the whole network); host:port sets the port too", parse: (s) => s },
  { key: "port", flag: "port", env: "HEARTH_PORT", placeholder: "N", default: "11435", help: "TCP port (0 picks a free one)", parse: parsePort },
  { key: "models", flag: "models", env: "HEARTH_MODELS", placeholder: "DIR", default: "./models", help: "folder searched for *.gguf models", parse: (s) => s },
  { key: "ollamaModels", flag: "ollama-models", env: "HEARTH_OLLAMA_MODELS", ollamaEnv: "OLLAMA_MODELS", placeholder: "DIR", default: "~/.ollama/models if present", decidedLater: true, help: "an Ollama model store to serve read-only, by Ollama's names (off: none)", parse: (s) => s },
  { key: "ctxSize", flag: "ctx-size", env: "HEARTH_CTX_SIZE", placeholder: "N", default: "4096", help: "context tokens per sequence (capped at the model's trained length)", parse: positiveInt },
  { key: "parallel", flag: "parallel", env: "HEARTH_PARALLEL", ollamaEnv: "OLLAMA_NUM_PARALLEL", placeholder: "N", default: "4", help: "sequences decoded in parallel per loaded model", parse: positiveInt },
  { key: "threads", flag: "threads", env: "HEARTH_THREADS", placeholder: "N", default: "math cores", decidedLater: true, help: "CPU threads for inference (default: the cores llama.cpp uses for math)", parse: positiveInt },
  { key: "gpu", flag: "gpu", env: "HEARTH_GPU", placeholder: "KIND", default: "auto", help: "auto | cuda | metal | vulkan | cpu", parse: gpu },
  { key: "flashAttention", flag: "flash-attention", env: "HEARTH_FLASH_ATTENTION", placeholder: "MODE", default: "auto", help: "auto (llama.cpp's choice: on wherever the backend has it, CPUs included) | on | off", parse: flashAttention },
  { key: "keepAliveMs", flag: "keep-alive", env: "HEARTH_KEEP_ALIVE", ollamaEnv: "OLLAMA_KEEP_ALIVE", placeholder: "DUR", default: "5m", help: "how long an idle model stays loaded (\"10m\", \"1h\", seconds; negative = forever, 0 = unload after each request)", parse: duration, format: (ms: number) => (ms === Infinity ? "-1" : `${ms / 1000}s`) },
  { key: "maxQueue", flag: "max-queue", env: "HEARTH_MAX_QUEUE", ollamaEnv: "OLLAMA_MAX_QUEUE", placeholder: "N", default: "512", help: "requests waiting for a free sequence before new ones get 503", parse: nonNegativeInt },
  { key: "maxLoadedModels", flag: "max-loaded-models", env: "HEARTH_MAX_LOADED_MODELS", ollamaEnv: "OLLAMA_MAX_LOADED_MODELS", placeholder: "N", default: "3", help: "models kept loaded at once; one more unloads the least recently used idle model", parse: positiveInt },
  { key: "memoryBudget", flag: "memory-budget", env: "HEARTH_MEMORY_BUDGET", placeholder: "SIZE", default: "auto", help: "memory the loaded models may take (\"16GiB\"; auto = RAM plus dedicated GPU memory)", parse: memorySize },
  { key: "shutdownTimeoutMs", flag: "shutdown-timeout", env: "HEARTH_SHUTDOWN_TIMEOUT", placeholder: "DUR", default: "30s", help: "on SIGTERM, how long requests in flight may take to finish before they end with an error (\"30s\", \"2m\", seconds)", parse: nonNegativeDuration, format: (ms: number) => `${ms / 1000}s` },
  { key: "predictionDrafting", flag: "prediction-drafting", env: "HEARTH_PREDICTION_DRAFTING", placeholder: "MODE", default: "auto", help: "predicted outputs: auto (draft from the prediction where that is measured to be faster) | on | off", parse: draftingMode },
  { key: "instructModels", flag: "instruct-model", env: "HEARTH_INSTRUCT_MODELS", placeholder: "THINKING=INSTRUCT", default: "none", repeatable: true, help: "the instruct model answering requests that turn thinking off for a reasoning model (repeatable)", parse: instructPair, format: (pair: InstructPair) => `${pair.thinking}=${pair.instruct}` },
  { key: "rerankModel", flag: "rerank-model", env: "HEARTH_RERANK_MODEL", placeholder: "NAME", default: "none", decidedLater: true, help: "the reranker retrieval uses (rag_params.rerank) when a request names none; /v1/rerank takes its model from the request", parse: (s) => s },
  { key: "dataDir", flag: "data-dir", env: "HEARTH_DATA_DIR", placeholder: "DIR", default: "$XDG_DATA_HOME/hearth", decidedLater: true, help: "where keys, conversations, stored responses and vector stores are kept (a SQLite database), and uploaded files", parse: (s) => s },
  { key: "apiKeyFile", flag: "api-key-file", env: "HEARTH_API_KEY_FILE", placeholder: "FILE", default: "none", decidedLater: true, help: "static API keys, one per line, each with every scope (HEARTH_API_KEY holds a single one)", parse: (s) => s },
  { key: "noAuth", flag: "no-auth", env: "HEARTH_NO_AUTH", placeholder: "", default: "off", boolean: true, help: "serve without credentials even on a non-loopback address: anyone who can reach the port may use it", parse: switchValue, format: () => "" },
  { key: "jwtJwksUrl", flag: "jwt-jwks-url", env: "HEARTH_JWT_JWKS_URL", placeholder: "URL", default: "none", decidedLater: true, help: "accept JWTs signed by the keys at this JWKS (Authelia, Authentik, Keycloak…)", parse: httpUrl },
  { key: "jwtSecretFile", flag: "jwt-secret-file", env: "HEARTH_JWT_SECRET_FILE", placeholder: "FILE", default: "none", decidedLater: true, help: "accept HS256 JWTs signed with the secret in this file", parse: (s) => s },
  { key: "jwtIssuer", flag: "jwt-issuer", env: "HEARTH_JWT_ISSUER", placeholder: "ISS", default: "none", decidedLater: true, help: "the iss a JWT must carry (required with JWTs)", parse: (s) => s },
  { key: "jwtAudience", flag: "jwt-audience", env: "HEARTH_JWT_AUDIENCE", placeholder: "AUD", default: "none", decidedLater: true, help: "the aud a JWT must carry (required with JWTs)", parse: (s) => s },
  { key: "jwtProjectClaim", flag: "jwt-project-claim", env: "HEARTH_JWT_PROJECT_CLAIM", placeholder: "CLAIM", default: "project", help: "the JWT claim naming the project (sub names the user)", parse: (s) => s },
  { key: "embeddingModel", flag: "embedding-model", env: "HEARTH_EMBEDDING_MODEL", placeholder: "NAME", default: "none", decidedLater: true, help: "the model vector stores embed their files and queries with, unless one names another", parse: (s) => s },
  { key: "maxFileSize", flag: "max-file-size", env: "HEARTH_MAX_FILE_SIZE", placeholder: "SIZE", default: "512MB", help: "the largest file POST /v1/files accepts (\"512MB\", \"2GiB\", bytes)", parse: fileSize },
  { key: "corsOrigins", flag: "cors-origin", env: "HEARTH_CORS_ORIGINS", placeholder: "ORIGIN", default: "none", repeatable: true, help: "an origin browsers may call the API from (repeatable; * for any)", parse: origin },
];

/** Flags win over environment variables, which win over defaults. */
export function resolveServeOptions(argv: string[], env: Record<string, string | undefined>): ServeOptions {
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(SERVE_OPTIONS.map((o) => [o.flag, { type: o.boolean ? ("boolean" as const) : ("string" as const), multiple: o.repeatable === true }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const resolved: Record<string, unknown> = {};
  for (const spec of SERVE_OPTIONS) {
    const flagValue = values[spec.flag];
    const envName = [spec.env, spec.ollamaEnv].find((name) => name !== undefined && env[name] !== undefined && env[name] !== "");
    if (spec.repeatable) {
      const items = Array.isArray(flagValue) ? flagValue.map((raw) => spec.parse(String(raw), `--${spec.flag}`)) : undefined;
      resolved[spec.key] = items ?? (envName === undefined ? [] : env[envName]!.split(",").filter((raw) => raw.trim()).map((raw) => spec.parse(raw, envName)));
    } else if (flagValue === true) resolved[spec.key] = true;
    else if (typeof flagValue === "string") resolved[spec.key] = spec.parse(flagValue, `--${spec.flag}`);
    else if (envName !== undefined) resolved[spec.key] = spec.parse(env[envName]!, envName);
    else if (!spec.decidedLater) resolved[spec.key] = spec.parse(spec.default, "default");
  }
  // Ollama's OLLAMA_HOST carries a port ("0.0.0.0:11434"); the clients read HEARTH_HOST that way too.
  const { host, port } = splitHostPort(resolved.host as string);
  resolved.host = host;
  const jwt = resolved.jwtJwksUrl !== undefined || resolved.jwtSecretFile !== undefined;
  if (resolved.jwtJwksUrl !== undefined && resolved.jwtSecretFile !== undefined) throw new UsageError("--jwt-jwks-url and --jwt-secret-file cannot be combined: tokens are verified one way");
  if (jwt && (resolved.jwtIssuer === undefined || resolved.jwtAudience === undefined)) throw new UsageError("JWTs need --jwt-issuer and --jwt-audience: a token from another issuer or meant for another service must not be accepted");
  const portGiven = typeof values.port === "string" || (env.HEARTH_PORT !== undefined && env.HEARTH_PORT !== "");
  if (port !== undefined && !portGiven) resolved.port = parsePort(port, "HEARTH_HOST");
  return resolved as unknown as ServeOptions;
}

/** `host`, `host:port`, `[v6]:port` or `http://host:port` → the host and the port, if one is there. */
function splitHostPort(raw: string): { host: string; port?: string } {
  const bare = raw.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(bare);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] };
  const single = /^([^:]+):(\d+)$/.exec(bare);
  return single ? { host: single[1]!, port: single[2] } : { host: bare };
}

export function serveHelp(): string {
  const lefts = SERVE_OPTIONS.map((o) => `  --${o.flag}${o.placeholder ? ` ${o.placeholder}` : ""}`);
  // Two spaces past the longest flag, so no flag runs into its text.
  const width = Math.max(...lefts.map((left) => left.length)) + 2;
  const rows = SERVE_OPTIONS.map((o, i) => {
    const env = o.ollamaEnv ? `${o.env} (or ${o.ollamaEnv})` : o.env;
    return `${lefts[i]!.padEnd(width)}${o.help}\n${"".padEnd(width)}env ${env}, default ${o.default}`;
  });
  return rows.join("\n");
}
