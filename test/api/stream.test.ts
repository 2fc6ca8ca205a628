import { expect, test } from "bun:test";
import { SSE_HEADERS, streamResponse } from "../../src/api/stream.ts";

// A framing with named events, as an SSE dialect that names its events writes them.
const named = {
  headers: SSE_HEADERS,
  value: (v: { type: string }) => `event: ${v.type}\ndata: ${JSON.stringify(v)}\n\n`,
  error: (err: unknown) => `event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`,
};

test("each value is framed by the framing, which sees the value; a failure is a last frame", async () => {
  async function* chunks() {
    yield { type: "start" };
    throw new Error("broke");
  }
  const res = streamResponse(chunks(), named);
  expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  expect(await res.text()).toBe('event: start\ndata: {"type":"start"}\n\nevent: error\ndata: {"message":"broke"}\n\n');
});

test("the client going away returns the iterator", async () => {
  let returned = false;
  async function* chunks() {
    try {
      for (;;) yield { type: "tick" };
    } finally {
      returned = true;
    }
  }
  const reader = streamResponse(chunks(), named).body!.getReader();
  await reader.read();
  await reader.cancel();
  expect(returned).toBe(true);
});
