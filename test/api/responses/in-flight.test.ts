import { expect, test } from "bun:test";
import { InFlight } from "../../../src/server/in-flight.ts";
import { expectValidEvent } from "../../support/openai-schemas.ts";

const encoder = new TextEncoder();

/** A Responses stream that sends these events, then nothing more, as a generation still running. */
function stalled(events: object[]): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const event = events[sent++] as { type: string } | undefined;
      if (event) controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
      else await new Promise(() => {});
    },
  });
}

test("a shutdown ends a Responses stream with an error event numbered after the last one sent", async () => {
  const inFlight = new InFlight();
  const sent = [
    { type: "response.output_text.delta", sequence_number: 4, item_id: "msg_1", output_index: 0, content_index: 0, delta: '"sequence_number":99', logprobs: [] },
    { type: "response.output_text.delta", sequence_number: 5, item_id: "msg_1", output_index: 0, content_index: 0, delta: "x", logprobs: [] },
  ];
  const handle = inFlight.wrap(() => new Response(stalled(sent), { headers: { "content-type": "text/event-stream; charset=utf-8" } }));
  const response = await handle(new Request("http://x/v1/responses", { method: "POST" }));
  const reader = response.body!.getReader();
  let text = "";
  for (let i = 0; i < sent.length; i++) text += new TextDecoder().decode((await reader.read()).value);
  expect(inFlight.cutAll()).toBe(1);
  for (let next = await reader.read(); !next.done; next = await reader.read()) text += new TextDecoder().decode(next.value);
  const last = text.trimEnd().split("\n\n").at(-1)!;
  expect(last).toStartWith("event: error\ndata: ");
  const event = JSON.parse(last.slice(last.indexOf("data: ") + 6));
  expectValidEvent(event);
  expect(event).toEqual({ type: "error", code: "server_shutting_down", message: expect.stringContaining("shutting down"), param: null, sequence_number: 6 });
});

test("a Responses request not answered yet when cut is a 503 in OpenAI's shape", async () => {
  const inFlight = new InFlight();
  const pending = inFlight.wrap(() => new Promise<Response>(() => {}))(new Request("http://x/v1/responses", { method: "POST" }));
  await Bun.sleep(0);
  inFlight.cutAll();
  const response = await pending;
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ error: { message: expect.stringContaining("shutting down"), type: "server_error", param: null, code: "server_shutting_down" } });
});
