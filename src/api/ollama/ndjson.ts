import { toOllamaErrorResponse } from "./errors.ts";

/**
 * Newline-delimited JSON, Ollama's streaming format: one object per line. Cancelling the body
 * (the client went away) returns the iterator, which aborts generation in the engine. An error
 * after the first byte can no longer change the status code, so it is sent as a final
 * `{"error": "…"}` line.
 */
export function ndjsonResponse(chunks: AsyncGenerator<unknown>): Response {
  const encoder = new TextEncoder();
  const line = (value: unknown) => encoder.encode(JSON.stringify(value) + "\n");
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(line(value));
      } catch (err) {
        controller.enqueue(line(await toOllamaErrorResponse("STREAM", err).json()));
        controller.close();
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-cache" } });
}
