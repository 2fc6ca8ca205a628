import { afterAll, beforeAll, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";
import { expectStreamOrder, parseSse, postMessages } from "./support.ts";

// One sequence and a queue of one: a second request waits, a third is refused. The endless model
// keeps generating until max_tokens or a cancel, so a quick answer afterwards proves the
// abandoned generation was cancelled.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["endless"]), args: ["--parallel", "1", "--ctx-size", "32768", "--max-queue", "1"] });
});

afterAll(async () => {
  await server?.stop();
});

const endless = (extra: object = {}) => ({ model: "endless", max_tokens: 30000, messages: [{ role: "user", content: "hi" }], ...extra });

async function quickAnswerMs(): Promise<number> {
  const started = performance.now();
  const res = await postMessages(server.url, endless({ max_tokens: 4 }));
  expect(res.status).toBe(200);
  expect((await res.json()).usage.output_tokens).toBe(4);
  return performance.now() - started;
}

/** A streaming request whose first bytes have arrived; the reader keeps it referenced until cancelled. */
async function busyStream(): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; controller: AbortController; first: string }> {
  const controller = new AbortController();
  const res = await postMessages(server.url, endless({ stream: true }), { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  return { reader, controller, first };
}

test("a client that drops a stream frees its sequence for the next request", async () => {
  const { reader, controller, first } = await busyStream();
  expect(first).toStartWith("event: message_start\n");
  await reader.cancel();
  controller.abort();
  expect(await quickAnswerMs()).toBeLessThan(5000);
});

test("a client that hangs up on a non-streamed request frees its sequence too", async () => {
  const controller = new AbortController();
  const pending = postMessages(server.url, endless(), { signal: controller.signal }).catch((err) => err);
  await Bun.sleep(500);
  controller.abort();
  expect((await pending).name).toBe("AbortError");
  expect(await quickAnswerMs()).toBeLessThan(5000);
});

test("past the queue bound: 529 overloaded_error with retry-after; a queued stream sends pings, then its answer once the sequence frees", async () => {
  const busy = await busyStream();
  // Queued: its stream opens after the ping interval (10 s) with pings until a sequence is free.
  const queuedAt = performance.now();
  const queued = postMessages(server.url, endless({ max_tokens: 4, stream: true }));
  await Bun.sleep(1000);

  const refused = await postMessages(server.url, endless({ max_tokens: 4 }));
  expect(refused.status).toBe(529);
  expect(refused.headers.get("retry-after")).toBe("1");
  const body = await refused.json();
  expect(body).toEqual({ type: "error", error: { type: "overloaded_error", message: expect.any(String) }, request_id: refused.headers.get("request-id") });
  const client = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
  const err = await client.messages.create(endless({ max_tokens: 4 }) as Anthropic.MessageCreateParamsNonStreaming).catch((e) => e);
  expect(err).toBeInstanceOf(Anthropic.OverloadedError);
  expect(err.status).toBe(529);

  const res = await queued;
  expect(res.status).toBe(200);
  // The stream opened after the ping interval, with a ping at once.
  expect(performance.now() - queuedAt).toBeGreaterThan(9000);
  expect(performance.now() - queuedAt).toBeLessThan(15000);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  expect(text).toStartWith("event: ping\ndata: {\"type\":\"ping\"}\n\n");
  await busy.reader.cancel();
  busy.controller.abort();
  for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
  const events = expectStreamOrder(parseSse(text));
  const answer = events
    .filter((e) => e.data.type === "content_block_delta")
    .map((e) => (e.data.delta as { text: string }).text)
    .join("");
  expect(answer).toBe(SCRIPTED.endless.token.repeat(4).slice(0, answer.length));
  expect((events.at(-2)!.data.delta as { stop_reason: string }).stop_reason).toBe("max_tokens");
}, 60_000);

test("count_tokens needs no sequence: it answers while the only one is busy", async () => {
  const busy = await busyStream();
  try {
    const res = await postMessages(server.url, { model: "endless", messages: [{ role: "user", content: "hi" }] }, { path: "/v1/messages/count_tokens" });
    expect(res.status).toBe(200);
    expect((await res.json()).input_tokens).toBeGreaterThan(0);
  } finally {
    await busy.reader.cancel();
    busy.controller.abort();
  }
});

test("past --shutdown-timeout a stream under way ends with an Anthropic `event: error`, and a request not begun with a 503 in Anthropic's shape", async () => {
  const shutting = await startServer({ models: await modelsFolder(["endless"]), args: ["--parallel", "1", "--shutdown-timeout", "1s"] });
  try {
    const res = await postMessages(shutting.url, endless({ max_tokens: 100_000, stream: true }));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    const queued = postMessages(shutting.url, endless({ max_tokens: 4 }));
    await Bun.sleep(300);
    const exited = shutting.kill("SIGTERM");
    for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
    const events = parseSse(text);
    for (const e of events) expect(e.event).toBe(e.data.type);
    expect(events[0]!.event).toBe("message_start");
    expect(events.at(-1)!.event).toBe("error");
    expect(events.at(-1)!.data).toEqual({ type: "error", error: { type: "api_error", message: expect.stringContaining("shutting down") }, request_id: expect.stringMatching(/^req_/) });
    const refused = await queued;
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ type: "error", error: { type: "api_error", message: expect.stringContaining("shutting down") }, request_id: expect.stringMatching(/^req_/) });
    expect(await exited).toBe(0);
  } finally {
    await shutting.kill("SIGKILL");
  }
}, 60_000);
