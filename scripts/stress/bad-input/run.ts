/**
 * Sends the corpus one case at a time to a real server, judges each answer, and asks /health
 * after every case: a server that stopped answering is a crash, charged to the case just sent,
 * and is started again so that the rest of the corpus still runs.
 */
import { dialectOf, isErrorShape } from "../error-shape.ts";
import type { Case, Category } from "./corpus.ts";

export interface Target {
  url(): string;
  /** sent with every case: the server's credential */
  headers: Record<string, string>;
  /** replaces a server that died or hangs with a fresh one */
  restart(): Promise<void>;
}

export interface CaseResult {
  case: Case;
  status?: number;
  /** the answer's first bytes */
  response: string;
  ms: number;
  /** what was wrong with the answer (a crash included); undefined when it was as the case expects */
  problem?: string;
}

const HEALTH_TIMEOUT_MS = 10_000;
/**
 * A refusal has nothing to compute: one that takes longer is a way to keep a server busy with
 * small requests. (Cases whose values may be valid can generate, so only refusals are timed.)
 */
const SLOW_REFUSAL_MS = 5_000;
const EXCERPT = 400;

export async function runCorpus(cases: Case[], target: Target, options: { timeoutMs: number; progress?: (done: number, result: CaseResult) => void }): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const result = await runCase(c, target, options.timeoutMs);
    results.push(result);
    options.progress?.(results.length, result);
  }
  return results;
}

async function runCase(c: Case, target: Target, timeoutMs: number): Promise<CaseResult> {
  const started = performance.now();
  let status: number | undefined;
  let response = "";
  let problem: string | undefined;
  try {
    const res = await fetch(target.url() + c.path, { method: c.method, headers: { ...target.headers, ...c.headers }, body: c.body?.(), signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    const text = await res.text();
    response = text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…(${text.length} chars)` : text;
    problem = judge(c, status, text);
  } catch (err) {
    problem = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : `no answer: ${(err as Error).message}`;
  }
  const ms = performance.now() - started;
  if (!problem && c.expect === "4xx" && ms > SLOW_REFUSAL_MS) problem = `a ${status} that took ${(ms / 1000).toFixed(1)} s`;
  if (!(await healthy(target.url()))) {
    problem = `${problem ? `${problem}; ` : ""}the server stopped answering /health`;
    await target.restart();
  }
  return { case: c, status, response, ms, problem };
}

function judge(c: Case, status: number, text: string): string | undefined {
  if (status >= 500) return `a ${status}`;
  const clientError = status >= 400 && status < 500;
  if (c.expect === "4xx" && !clientError) return `expected a 4xx, got ${status}`;
  if (!clientError || c.method === "HEAD") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `a ${status} whose body is not JSON`;
  }
  return isErrorShape(c.path, body) ? undefined : `a ${status} not in the ${{ ollama: "Ollama", anthropic: "Anthropic", openai: "OpenAI" }[dialectOf(c.path)]} error shape`;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Cases by category and answer: category → status (or "no answer") → count. */
export function tallyResults(results: CaseResult[]): Record<Category, Record<string, number>> {
  const tally = {} as Record<Category, Record<string, number>>;
  for (const result of results) {
    const byStatus = (tally[result.case.category] ??= {});
    const key = result.status === undefined ? "no answer" : String(result.status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  }
  return tally;
}

/** A problem as a bug report: the request exactly (the body's start when long) and the answer. */
export function describeProblem(result: CaseResult): string {
  const { case: c } = result;
  const bytes = c.body?.();
  const body = bytes === undefined ? "" : new TextDecoder().decode(bytes.length > EXCERPT ? bytes.slice(0, EXCERPT) : bytes);
  const more = bytes !== undefined && bytes.length > EXCERPT ? `…(${bytes.length} bytes)` : "";
  const headers = Object.entries(c.headers).map(([k, v]) => ` -H '${k}: ${v}'`).join("");
  return [`${result.problem} [${c.category}]`, `  ${c.method} ${c.path}${headers}${body ? ` body: ${JSON.stringify(body)}${more}` : ""}`, `  → ${result.status ?? "no answer"} ${result.response}`].join("\n");
}
