import { afterAll, beforeAll, expect, test } from "bun:test";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";
import { sample } from "../../scripts/stress/server-state.ts";

// One sequence, so that a long stream makes the next request queue.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "endless"]), args: ["--parallel", "1"] });
});

afterAll(async () => {
  await server?.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return res.text();
}

function chat(extra: object = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 5, temperature: 0, ...extra }),
    signal,
  });
}

function logLines(): Array<Record<string, unknown>> {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

test("tokens in and out, cached tokens and the latency histograms follow each finished request", async () => {
  const before = await scrape();
  const first = await (await chat()).json();
  const second = await (await chat()).json();
  const after = await scrape();
  const model = { model: "tiny" };
  const delta = (name: string) => sample(after, name, model) - sample(before, name, model);
  expect(delta("hearth_prompt_tokens_total")).toBe(first.usage.prompt_tokens + second.usage.prompt_tokens);
  expect(delta("hearth_completion_tokens_total")).toBe(first.usage.completion_tokens + second.usage.completion_tokens);
  expect(delta("hearth_cached_prompt_tokens_total")).toBe(first.usage.prompt_tokens_details.cached_tokens + second.usage.prompt_tokens_details.cached_tokens);
  expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
  expect(delta("hearth_time_to_first_token_seconds_count")).toBe(2);
  expect(delta("hearth_decode_tokens_per_second_count")).toBe(2);
  expect(sample(after, "hearth_decode_tokens_per_second_sum", model)).toBeGreaterThan(0);
  expect(sample(after, "hearth_time_to_first_token_seconds_bucket", { ...model, le: "+Inf" })).toBe(sample(after, "hearth_time_to_first_token_seconds_count", model));
  expect(sample(after, "hearth_loaded_models")).toBe(1);
});

test("requests are counted by method, route pattern and status", async () => {
  const before = await scrape();
  await (await chat()).json();
  await (await chat({ model: "missing" })).json();
  await (await chat({ max_tokens: "many" })).json();
  await (await fetch(`${server.url}/v1/models/missing`)).json();
  await (await fetch(`${server.url}/nowhere`)).json();
  const after = await scrape();
  const delta = (labels: Record<string, string>) => sample(after, "hearth_http_requests_total", labels) - sample(before, "hearth_http_requests_total", labels);
  const chatRoute = { method: "POST", route: "/v1/chat/completions" };
  expect(delta({ ...chatRoute, status: "200" })).toBe(1);
  expect(delta({ ...chatRoute, status: "404" })).toBe(1);
  expect(delta({ ...chatRoute, status: "400" })).toBe(1);
  expect(delta({ method: "GET", route: "/v1/models/:model", status: "404" })).toBe(1);
  expect(delta({ method: "GET", route: "unmatched", status: "404" })).toBe(1);
  expect(sample(after, "hearth_http_request_duration_seconds_count", chatRoute)).toBeGreaterThanOrEqual(3);
});

test("the queue depth shows requests waiting for a sequence", async () => {
  const controller = new AbortController();
  const busy = await chat({ model: "endless", max_tokens: 3000, stream: true }, controller.signal);
  const reader = busy.body!.getReader();
  await reader.read();
  const queued = chat({ model: "endless" });
  await Bun.sleep(300);
  expect(sample(await scrape(), "hearth_queue_depth")).toBe(1);
  await reader.cancel();
  controller.abort();
  expect((await queued).status).toBe(200);
  expect(sample(await scrape(), "hearth_queue_depth")).toBe(0);
});

test("one JSON log line per request: method, route, model, status, tokens, time to first token, duration", async () => {
  const res = await chat({ model: "endless", stream: true, max_tokens: 200 });
  const headersAt = performance.now();
  await res.text();
  const streamedMs = performance.now() - headersAt;
  await (await chat({ model: "missing" })).json();
  await Bun.sleep(100);
  const lines = logLines();
  const streamed = lines.findLast((line) => line.route === "/v1/chat/completions" && line.status === 200)!;
  expect(streamed).toMatchObject({ msg: "request", method: "POST", model: "endless", completion_tokens: 200 });
  expect(streamed.prompt_tokens).toBeGreaterThan(0);
  expect(typeof streamed.cached_tokens).toBe("number");
  expect(streamed.ttft_ms as number).toBeGreaterThan(0);
  // A stream's request lasts until its last event, not until its headers.
  expect(streamedMs).toBeGreaterThan(100);
  expect(streamed.duration_ms as number).toBeGreaterThan(streamedMs * 0.9);
  expect(Date.parse(streamed.time as string)).toBeGreaterThan(Date.now() - 60_000);
  const missing = lines.findLast((line) => line.status === 404)!;
  expect(missing).toMatchObject({ method: "POST", route: "/v1/chat/completions" });
  expect(missing.model).toBeUndefined();
  const scrapes = lines.filter((line) => line.route === "/metrics");
  expect(scrapes.length).toBeGreaterThan(0);
});
