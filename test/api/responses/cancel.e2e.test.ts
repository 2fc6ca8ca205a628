import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";
import { expectValidStream, postResponses, type StreamEvent } from "./sse.ts";

// One sequence: a second request can only run once the first has let go of it. The endless model
// keeps generating for well over ten seconds, so a quick second answer proves the first was cancelled.
let server: TestServer;
let models: string;

beforeAll(async () => {
  models = await modelsFolder(["endless"]);
  server = await startServer({ models, args: ["--parallel", "1", "--ctx-size", "32768", "--max-queue", "1"] });
});

afterAll(async () => {
  await server?.stop();
});

const longRequest = { model: "endless", input: "hi", temperature: 0, max_output_tokens: 30000 };

async function quickAnswerMs(): Promise<number> {
  const started = performance.now();
  const res = await postResponses(server.url, { model: "endless", input: "hi", max_output_tokens: 4, temperature: 0 });
  expect(res.status).toBe(200);
  expect((await res.json()).status).toBe("incomplete");
  return performance.now() - started;
}

/** The events of an SSE text, each frame's data parsed. */
function eventsOf(text: string): StreamEvent[] {
  return text
    .split("\n\n")
    .filter((frame) => frame.trim() !== "")
    .map((frame) => JSON.parse(frame.match(/^data: (.+)$/m)![1]!));
}

describe("cancellation and the queue", () => {
  test("a client that drops a stream frees its sequence for the next request", async () => {
    const controller = new AbortController();
    const res = await postResponses(server.url, { ...longRequest, stream: true }, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    expect(await quickAnswerMs()).toBeLessThan(5000);
  });

  test("a client that hangs up on a non-streamed request frees its sequence too", async () => {
    const controller = new AbortController();
    const pending = postResponses(server.url, longRequest, { signal: controller.signal }).catch((err) => err);
    await Bun.sleep(500);
    controller.abort();
    expect((await pending).name).toBe("AbortError");
    expect(await quickAnswerMs()).toBeLessThan(5000);
  });

  test("past the queue bound a request gets 503 in OpenAI's shape with Retry-After", async () => {
    const controller = new AbortController();
    const busy = await postResponses(server.url, { ...longRequest, stream: true }, { signal: controller.signal });
    expect(busy.status).toBe(200);
    const reader = busy.body!.getReader();
    await reader.read();
    const queued = quickAnswerMs();
    // The queued request must have reached the queue before the one that overflows it is sent.
    for (let i = 0; i < 200 && !/^hearth_queue_depth 1$/m.test(await (await fetch(`${server.url}/metrics`)).text()); i++) await Bun.sleep(50);
    const refused = await postResponses(server.url, { model: "endless", input: "hi", max_output_tokens: 4 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await refused.json()).error).toMatchObject({ type: "server_error", code: "server_busy", param: null });
    controller.abort();
    await queued;
  });
});

test("past --shutdown-timeout a Responses stream ends with an error event numbered after the last one", async () => {
  const own = await startServer({ models, args: ["--parallel", "1", "--ctx-size", "32768", "--shutdown-timeout", "1s"] });
  try {
    const res = await postResponses(own.url, { ...longRequest, stream: true });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    // Into the deltas before the signal lands.
    while (!text.includes("response.output_text.delta")) text += decoder.decode((await reader.read()).value, { stream: true });
    expect(await own.kill("SIGTERM")).toBe(0);
    for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
    const events = eventsOf(text);
    const last = events.at(-1)!;
    expect(text.trimEnd().split("\n\n").at(-1)).toStartWith("event: error\n");
    expect(last).toMatchObject({ type: "error", code: "server_shutting_down", param: null });
    expect(last.sequence_number).toBe(events.at(-2)!.sequence_number + 1);
    expectValidStream(events);
  } finally {
    await own.kill("SIGKILL");
  }
});
