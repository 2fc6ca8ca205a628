/**
 * Many short requests over every dialect and read-only route, errors included (a leak is as
 * likely on an error path as on a happy one), a few at a time, watching the server's resident
 * memory. What a server takes in its first few hundred requests (JIT, caches, loaded models) is
 * no leak; what it keeps taking after that is.
 */
import { readFile } from "node:fs/promises";
import { streamProblem } from "./stream-storm.ts";

interface SoakRequest {
  name: string;
  method: string;
  path: string;
  /** JSON-encoded unless a string */
  body?: unknown;
  status: number;
  /** an SSE or NDJSON answer, read and checked to its end */
  stream?: "sse" | "ndjson";
}

/** Small models and short answers: the soak counts requests, not tokens. */
function soakRequests(models: { chat: string; embed: string }): SoakRequest[] {
  const messages = [{ role: "user", content: "Hi" }];
  const { chat, embed } = models;
  return [
    { name: "openai chat", method: "POST", path: "/v1/chat/completions", body: { model: chat, messages, max_tokens: 2 }, status: 200 },
    { name: "openai chat stream", method: "POST", path: "/v1/chat/completions", body: { model: chat, messages, max_tokens: 2, stream: true }, status: 200, stream: "sse" },
    { name: "openai completion", method: "POST", path: "/v1/completions", body: { model: chat, prompt: "Hi", max_tokens: 2 }, status: 200 },
    { name: "openai embeddings", method: "POST", path: "/v1/embeddings", body: { model: embed, input: ["Hi", "there"] }, status: 200 },
    { name: "openai models", method: "GET", path: "/v1/models", status: 200 },
    { name: "openai model", method: "GET", path: `/v1/models/${embed}`, status: 200 },
    { name: "ollama chat", method: "POST", path: "/api/chat", body: { model: chat, messages, stream: false, options: { num_predict: 2 } }, status: 200 },
    { name: "ollama chat stream", method: "POST", path: "/api/chat", body: { model: chat, messages, options: { num_predict: 2 } }, status: 200, stream: "ndjson" },
    { name: "ollama generate", method: "POST", path: "/api/generate", body: { model: chat, prompt: "Hi", stream: false, options: { num_predict: 2 } }, status: 200 },
    { name: "ollama generate stream", method: "POST", path: "/api/generate", body: { model: chat, prompt: "Hi", options: { num_predict: 2 } }, status: 200, stream: "ndjson" },
    { name: "anthropic messages", method: "POST", path: "/v1/messages", body: { model: chat, messages, max_tokens: 2 }, status: 200 },
    { name: "anthropic count tokens", method: "POST", path: "/v1/messages/count_tokens", body: { model: chat, messages }, status: 200 },
    { name: "anthropic unknown model", method: "POST", path: "/v1/messages", body: { model: "absent", messages, max_tokens: 2 }, status: 404 },
    { name: "responses", method: "POST", path: "/v1/responses", body: { model: chat, input: "Hi", max_output_tokens: 2 }, status: 200 },
    { name: "responses input tokens", method: "POST", path: "/v1/responses/input_tokens", body: { model: chat, input: "Hi" }, status: 200 },
    { name: "tokenize", method: "POST", path: "/tokenize", body: { model: chat, content: "Hi there" }, status: 200 },
    { name: "ollama embed", method: "POST", path: "/api/embed", body: { model: embed, input: ["Hi", "there"] }, status: 200 },
    { name: "ollama embeddings", method: "POST", path: "/api/embeddings", body: { model: embed, prompt: "Hi" }, status: 200 },
    { name: "ollama tags", method: "GET", path: "/api/tags", status: 200 },
    { name: "ollama tags head", method: "HEAD", path: "/api/tags", status: 200 },
    { name: "ollama show", method: "POST", path: "/api/show", body: { model: embed }, status: 200 },
    { name: "ollama ps", method: "GET", path: "/api/ps", status: 200 },
    { name: "ollama version", method: "GET", path: "/api/version", status: 200 },
    { name: "ollama blob head", method: "HEAD", path: `/api/blobs/sha256:${"0".repeat(64)}`, status: 404 },
    { name: "root", method: "GET", path: "/", status: 200 },
    { name: "health", method: "GET", path: "/health", status: 200 },
    { name: "metrics", method: "GET", path: "/metrics", status: 200 },
    { name: "openapi", method: "GET", path: "/openapi.json", status: 200 },
    { name: "openai unknown model", method: "POST", path: "/v1/chat/completions", body: { model: "absent", messages }, status: 404 },
    { name: "openai wrong type", method: "POST", path: "/v1/chat/completions", body: { model: chat, messages, max_tokens: "many" }, status: 400 },
    { name: "ollama bad json", method: "POST", path: "/api/generate", body: '{"model": "', status: 400 },
    { name: "ollama unknown model", method: "POST", path: "/api/show", body: { model: "absent" }, status: 404 },
    { name: "unknown path", method: "GET", path: "/v1/nowhere", status: 404 },
  ];
}

export interface SoakOptions {
  url: string;
  pid: number;
  requests: number;
  concurrency: number;
  /** the baseline is read over the `window` requests after this many */
  baselineAfter: number;
  /** how many requests the baseline and the end reading each span */
  window: number;
  /** the trend has a reading per this many requests */
  trendEvery: number;
  models: { chat: string; embed: string };
}

export interface SoakReport {
  requests: number;
  /** request name → status → count */
  statuses: Record<string, Record<number, number>>;
  /** answers that were not what the request expected */
  failures: Array<{ name: string; status?: number; detail: string }>;
  /** lowest resident size while requests baselineAfter to baselineAfter + window ran */
  rssBaselineBytes: number;
  /** lowest resident size while the last `window` requests ran */
  rssEndBytes: number;
  /** lowest resident size per `trendEvery` requests: [requests done at the span's end, bytes] */
  rssTrend: Array<[number, number]>;
  seconds: number;
}

/** How often the resident size is read while the soak runs. */
const SAMPLE_MS = 100;

/** The process's resident set size, from /proc/<pid>/status. */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kib) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib[1]) * 1024;
}

/**
 * Runs the requests round-robin over the catalog, `concurrency` at a time, reading the server's
 * resident size every SAMPLE_MS. Under load that size swings by a tenth and more with the
 * garbage collector's timing (and stays wherever it was when traffic stops: an idle server does
 * not collect), so a single reading says little; the lowest over a window of many requests is
 * what the server holds with its garbage gone, and a leak raises it.
 */
export async function soak(options: SoakOptions, progress?: (done: number, rss: number) => void): Promise<SoakReport> {
  const catalog = soakRequests(options.models);
  const report: SoakReport = { requests: 0, statuses: {}, failures: [], rssBaselineBytes: 0, rssEndBytes: 0, rssTrend: [], seconds: 0 };
  const started = performance.now();
  let next = 0;
  let done = 0;
  const readings: Array<[number, number]> = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      readings.push([done, await rssBytes(options.pid)]);
      await Bun.sleep(SAMPLE_MS);
    }
  })();
  const lowestIn = (from: number, to: number) => Math.min(...readings.filter(([n]) => n > from && n <= to).map(([, rss]) => rss));
  let reported = 0;
  const worker = async () => {
    while (next < options.requests) {
      const request = catalog[next++ % catalog.length]!;
      const result = await send(options.url, request);
      const byStatus = (report.statuses[request.name] ??= {});
      if (result.status !== undefined) byStatus[result.status] = (byStatus[result.status] ?? 0) + 1;
      if (result.problem) report.failures.push({ name: request.name, status: result.status, detail: result.problem });
      const count = ++done;
      // Every span gets a reading of its own, however fast its requests went by.
      if (count % options.trendEvery === 0 || count === options.baselineAfter + options.window) readings.push([count, await rssBytes(options.pid)]);
      if (progress && count - reported >= options.trendEvery) {
        reported = count;
        progress(count, lowestIn(count - options.trendEvery, count));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  sampling = false;
  await sampler;
  readings.push([done, await rssBytes(options.pid)]);
  report.requests = done;
  report.rssBaselineBytes = lowestIn(options.baselineAfter, options.baselineAfter + options.window);
  report.rssEndBytes = lowestIn(done - options.window, done);
  for (let end = options.trendEvery; end <= done; end += options.trendEvery) report.rssTrend.push([end, lowestIn(end - options.trendEvery, end)]);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

async function send(url: string, request: SoakRequest): Promise<{ status?: number; problem?: string }> {
  try {
    const res = await fetch(url + request.path, {
      method: request.method,
      headers: request.body === undefined ? undefined : { "content-type": "application/json" },
      body: request.body === undefined ? undefined : typeof request.body === "string" ? request.body : JSON.stringify(request.body),
    });
    const text = await res.text();
    if (res.status !== request.status) return { status: res.status, problem: `expected ${request.status}: ${text.slice(0, 300)}` };
    const problem = request.stream ? streamProblem(text, request.stream) : undefined;
    return { status: res.status, problem };
  } catch (err) {
    return { problem: `connection: ${(err as Error).message}` };
  }
}

/** The end's growth over the baseline, as a fraction (0.1 = 10% more). */
export function rssGrowth(report: SoakReport): number {
  return report.rssEndBytes / report.rssBaselineBytes - 1;
}
