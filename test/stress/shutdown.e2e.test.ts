import { afterEach, expect, test } from "bun:test";
import { isErrorShape } from "../../scripts/stress/error-shape.ts";
import { streamProblem } from "../../scripts/stress/stream-storm.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// SIGTERM on a real server process: it stops accepting connections, lets the answers in flight
// finish within --shutdown-timeout, ends the rest with an error in their dialect's shape, exits 0.
let server: TestServer | undefined;

afterEach(async () => {
  await server?.kill("SIGKILL");
  server = undefined;
});

const prompt = [{ role: "user", content: "Tell me about dogs." }];

/** A streaming request whose first chunk has arrived; `rest` is everything it sends until it ends. */
async function openStream(url: string, path: string, body: object): Promise<{ first: string; rest: Promise<string> }> {
  const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const first = decoder.decode((await reader.read()).value, { stream: true });
  const rest = (async () => {
    let text = "";
    for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
    return text;
  })();
  return { first, rest };
}

function streams(url: string, maxTokens: number) {
  return Promise.all([
    openStream(url, "/v1/chat/completions", { model: "endless", stream: true, max_tokens: maxTokens, messages: prompt }),
    openStream(url, "/api/chat", { model: "endless", messages: prompt, options: { num_predict: maxTokens } }),
    openStream(url, "/api/generate", { model: "endless", prompt: "Dogs?", options: { num_predict: maxTokens } }),
  ]);
}

test("streams in flight at SIGTERM run to their normal end, no new connection is accepted, and the server exits 0", async () => {
  server = await startServer({ models: await modelsFolder(["endless", "text"]), args: ["--parallel", "4", "--shutdown-timeout", "60s"] });
  const url = server.url;
  // Long enough to be mid-stream when the signal lands (the log says so below), short enough for a slow machine.
  const [sse, chat, generate] = await streams(url, 64);
  const plain = fetch(`${url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "text", messages: prompt, stream: false }) });
  // Time for it to arrive: a request still connecting when the signal lands would be refused.
  await Bun.sleep(300);
  const exited = server.kill("SIGTERM");
  await Bun.sleep(500);
  await expect(fetch(`${url}/health`)).rejects.toThrow();
  expect(streamProblem(sse.first + (await sse.rest), "sse")).toBeUndefined();
  expect(streamProblem(chat.first + (await chat.rest), "ndjson")).toBeUndefined();
  expect(streamProblem(generate.first + (await generate.rest), "ndjson")).toBeUndefined();
  const answer = await plain;
  expect(answer.status).toBe(200);
  expect((await answer.json()).done).toBe(true);
  expect(await exited).toBe(0);
  expect(server.output()).toMatch(/shutting down; waiting up to 60 s for [34] request\(s\) in flight/);
  expect(server.output()).not.toContain("shutdown timeout");
});

test("past --shutdown-timeout the answers in flight end with an error in their dialect's shape, and the server exits 0", async () => {
  server = await startServer({ models: await modelsFolder(["endless"]), args: ["--parallel", "4", "--shutdown-timeout", "1s"] });
  const url = server.url;
  // Until the context is full: far longer than the timeout.
  const [sse, chat, generate] = await streams(url, 100_000);
  const plain = fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "endless", messages: prompt }) });
  await Bun.sleep(300);
  const signalled = performance.now();
  const code = await server.kill("SIGTERM");
  expect(code).toBe(0);
  // One second of grace, then at most a few for the cut answers to go out and the models to be freed.
  expect(performance.now() - signalled).toBeLessThan(10_000);

  const sseEvents = (sse.first + (await sse.rest)).trim().split("\n\n");
  const lastEvent = JSON.parse(sseEvents.at(-1)!.replace(/^data: /, ""));
  expect(isErrorShape("/v1/chat/completions", lastEvent)).toBe(true);
  expect(lastEvent.error.code).toBe("server_shutting_down");
  // What came before the error is the answer as far as it got.
  expect(sseEvents.slice(0, -1).every((event) => !event.includes('"error"'))).toBe(true);
  for (const [path, stream] of [["/api/chat", chat], ["/api/generate", generate]] as const) {
    const lines = (stream.first + (await stream.rest)).trim().split("\n");
    const last = JSON.parse(lines.at(-1)!);
    expect(isErrorShape(path, last)).toBe(true);
    expect(last.error).toContain("shutting down");
    expect(lines.slice(0, -1).every((line) => JSON.parse(line).done === false)).toBe(true);
  }
  const answer = await plain;
  expect(answer.status).toBe(503);
  expect(isErrorShape("/v1/chat/completions", await answer.json())).toBe(true);
  expect(server.output()).toContain("shutdown timeout: ended 4 request(s) in flight with an error");
  expect(server.output()).not.toContain("internal error");
});
