import { toOpenAIErrorResponse } from "./errors.ts";

/**
 * Server-sent events in OpenAI's framing. Cancelling the body (the client went away) returns
 * the iterator, which aborts generation in the engine. An error after the first byte can no
 * longer change the status code, so it is sent as a final `data: {"error": …}` event.
 */
export function sseResponse(chunks: AsyncGenerator<unknown>): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await chunks.next();
        if (done) {
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(value)}\n\n`));
      } catch (err) {
        const errorBody = await toOpenAIErrorResponse("STREAM", err).json();
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(errorBody)}\n\n`));
        controller.close();
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" },
  });
}
