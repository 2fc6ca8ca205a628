import { expect } from "bun:test";

/** RFC 3339 with fractional seconds, as Ollama writes created_at and expires_at. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2})$/;

/** A POST as curl -d sends it (form content type): Ollama reads every body as JSON all the same. */
export function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: JSON.stringify(body), ...init });
}

export async function json(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await post(url, body);
  return { status: res.status, body: await res.json() };
}

/** A streamed answer: checks the NDJSON framing (one object per line, each line ended) and returns the objects. */
export async function ndjson(url: string, body: unknown): Promise<any[]> {
  const res = await post(url, body);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/x-ndjson");
  const text = await res.text();
  expect(text.endsWith("\n")).toBe(true);
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

/** A final object's statistics: measured integer nanoseconds and token counts. */
export function expectStats(final: Record<string, unknown>): void {
  for (const key of ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"]) {
    expect(Number.isInteger(final[key])).toBe(true);
    expect(final[key] as number).toBeGreaterThan(0);
  }
  const [total, load, prompt, evaluation] = ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"].map((k) => final[k] as number);
  expect(total!).toBeGreaterThanOrEqual(load! + prompt! + evaluation!);
}
