import { expect, test } from "bun:test";
import { InFlight } from "../../src/server/in-flight.ts";

const encoder = new TextEncoder();

/** A stream that sends its chunks, then nothing more, as a generation still thinking. */
function endlessStream(chunks: string[]): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent < chunks.length) controller.enqueue(encoder.encode(chunks[sent++]!));
      else await new Promise(() => {});
    },
  });
}

async function readSome(response: Response, chunks: number): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; text: string }> {
  const reader = response.body!.getReader();
  let text = "";
  for (let i = 0; i < chunks; i++) text += new TextDecoder().decode((await reader.read()).value);
  return { reader, text };
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  for (let next = await reader.read(); !next.done; next = await reader.read()) text += new TextDecoder().decode(next.value);
  return text;
}

test("an answer not begun when cut is a 503 in its dialect's shape, and the handler's signal is aborted", async () => {
  const inFlight = new InFlight();
  const signals: AbortSignal[] = [];
  const handle = inFlight.wrap((request) => {
    signals.push(request.signal);
    return new Promise<Response>(() => {});
  });
  const openai = handle(new Request("http://x/v1/chat/completions", { method: "POST" }));
  const ollama = handle(new Request("http://x/api/generate", { method: "POST", headers: { "x-request-id": "gen-1" } }));
  await Bun.sleep(0);
  expect(inFlight.size).toBe(2);
  expect(inFlight.cutAll()).toBe(2);
  const [a, b] = [await openai, await ollama];
  expect(a.status).toBe(503);
  expect(await a.json()).toEqual({ error: { message: expect.stringContaining("shutting down"), type: "server_error", param: null, code: "server_shutting_down" } });
  expect(b.status).toBe(503);
  // The request's id, even for an answer no route gave.
  expect(await b.json()).toEqual({ error: expect.stringContaining("shutting down"), request_id: "gen-1" });
  expect(signals.every((signal) => signal.aborted)).toBe(true);
  expect(inFlight.size).toBe(0);
});

test("a stream cut mid-way ends with a final error event (SSE) or line (NDJSON) after what it had sent", async () => {
  const inFlight = new InFlight();
  const sse = endlessStream(["data: {\"n\":1}\n\n"]);
  const ndjson = endlessStream(['{"n":1}\n']);
  const handle = inFlight.wrap((request) =>
    request.url.endsWith("/v1/chat/completions")
      ? new Response(sse, { headers: { "content-type": "text/event-stream; charset=utf-8" } })
      : new Response(ndjson, { headers: { "content-type": "application/x-ndjson" } }),
  );
  const openai = await readSome(await handle(new Request("http://x/v1/chat/completions", { method: "POST" })), 1);
  const ollama = await readSome(await handle(new Request("http://x/api/chat", { method: "POST" })), 1);
  expect(inFlight.cutAll()).toBe(2);
  const sseText = openai.text + (await readRest(openai.reader));
  expect(sseText).toStartWith('data: {"n":1}\n\n');
  expect(JSON.parse(sseText.trim().split("\n\n").at(-1)!.replace(/^data: /, "")).error.code).toBe("server_shutting_down");
  const lines = (ollama.text + (await readRest(ollama.reader))).trim().split("\n");
  expect(lines).toHaveLength(2);
  expect(JSON.parse(lines[1]!).error).toContain("shutting down");
  expect(inFlight.size).toBe(0);
});

test("answers that end on their own leave nothing in flight; plain responses pass through untouched", async () => {
  const inFlight = new InFlight();
  const handle = inFlight.wrap((request) =>
    request.url.endsWith("/stream")
      ? new Response("data: [DONE]\n\n", { headers: { "content-type": "text/event-stream" } })
      : Response.json({ ok: true }, { status: 201 }),
  );
  const plain = await handle(new Request("http://x/plain"));
  expect(plain.status).toBe(201);
  expect(await plain.json()).toEqual({ ok: true });
  const stream = await handle(new Request("http://x/stream"));
  expect(await stream.text()).toBe("data: [DONE]\n\n");
  expect(inFlight.size).toBe(0);
  expect(inFlight.cutAll()).toBe(0);
});
