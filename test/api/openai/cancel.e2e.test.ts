import { afterAll, beforeAll, expect, test } from "bun:test";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// One sequence: a second request can only run once the first has let go of it. The endless
// model keeps generating for well over ten seconds, so a quick second answer proves the
// abandoned generation was cancelled.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["endless"]), args: ["--parallel", "1", "--ctx-size", "32768", "--max-queue", "1"] });
});

afterAll(async () => {
  await server?.stop();
});

const longRequest = { model: "endless", messages: [{ role: "user", content: "hi" }], temperature: 0, max_tokens: 30000 };

async function quickAnswerMs(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "endless", messages: [{ role: "user", content: "hi" }], max_tokens: 4, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  await res.json();
  return performance.now() - started;
}

test("a client that drops a stream frees its sequence for the next request", async () => {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...longRequest, stream: true }),
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort();
  expect(await quickAnswerMs()).toBeLessThan(5000);
});

test("a client that hangs up on a non-streamed request frees its sequence too", async () => {
  const controller = new AbortController();
  const pending = fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(longRequest),
    signal: controller.signal,
  }).catch((err) => err);
  await Bun.sleep(500);
  controller.abort();
  expect((await pending).name).toBe("AbortError");
  expect(await quickAnswerMs()).toBeLessThan(5000);
});

test("past the queue bound a request gets 503 with Retry-After; the queued one runs within a second of the sequence freeing", async () => {
  const controller = new AbortController();
  const busy = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...longRequest, stream: true }),
    signal: controller.signal,
  });
  const reader = busy.body!.getReader();
  await reader.read();
  const queued = quickAnswerMs().then(() => performance.now());
  // Give the queued request time to reach the queue before the one that must overflow it.
  await Bun.sleep(1000);
  const refused = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "endless", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
  });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("1");
  expect((await refused.json()).error).toMatchObject({ type: "server_error", code: "server_busy" });
  // Cancelling through the reader also keeps it referenced until now: a collected stream would
  // close the connection and free the sequence early.
  const cancelledAt = performance.now();
  await reader.cancel();
  controller.abort();
  // Freed within a decode step: the queued request starts (and its four tokens are generated) at once.
  expect((await queued) - cancelledAt).toBeLessThan(1000);
});

test("a body over the limit is a 413 in OpenAI's error shape", async () => {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // Over Hearth's 32 MiB limit but under Bun's own cut-off, which would answer with an empty body.
    body: JSON.stringify({ model: "endless", messages: [{ role: "user", content: "x".repeat(32.5 * 1024 * 1024) }] }),
  });
  expect(res.status).toBe(413);
  expect((await res.json()).error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
});
