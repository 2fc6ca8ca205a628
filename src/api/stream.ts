/** How an API writes a stream of values on the wire. */
export interface StreamFraming<T> {
  /** the response's headers: its content type, and no caching */
  headers: Record<string, string>;
  /** one value as written: a function of the value, so a frame may name it (an SSE `event:` line) */
  value(value: T): string;
  /** written after the last value (OpenAI's `data: [DONE]`); nothing when absent */
  end?: string;
  /**
   * The last frame when the values fail after the first byte went out, which can no longer change
   * the status code; undefined ends the stream without one.
   */
  error(err: unknown): string | undefined;
}

/**
 * Pumps `chunks` into a streamed response, one frame per value, each read only when the client
 * wants more. The client going away cancels the body, which calls `cancel` (by default returning
 * the iterator: a generator's `finally` then aborts generation in the engine).
 */
export function streamResponse<T>(chunks: AsyncIterator<T>, framing: StreamFraming<T>, cancel: () => unknown = () => chunks.return?.(undefined)): Response {
  const encoder = new TextEncoder();
  // A client hanging up while pull() awaits the next value closes the stream under it: what that
  // value (or failure) was no longer goes anywhere, and is no fault of the server's.
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await chunks.next();
        if (cancelled) return;
        if (!done) {
          controller.enqueue(encoder.encode(framing.value(value)));
          return;
        }
        if (framing.end !== undefined) controller.enqueue(encoder.encode(framing.end));
        controller.close();
      } catch (err) {
        if (cancelled) return;
        const last = framing.error(err);
        if (last !== undefined) controller.enqueue(encoder.encode(last));
        controller.close();
      }
    },
    async cancel() {
      cancelled = true;
      await cancel();
    },
  });
  return new Response(body, { headers: framing.headers });
}

/** Server-sent events, as OpenAI's streams and the like send them. */
export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };

/** An SSE event carrying a value as its data alone. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** An SSE event named by its `event:` line (OpenAI's Responses streams name each by its type). */
export function sseEvent(name: string, value: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(value)}\n\n`;
}

/** Newline-delimited JSON, Ollama's streams. */
export const NDJSON_HEADERS = { "content-type": "application/x-ndjson", "cache-control": "no-cache" };

export function ndjsonLine(value: unknown): string {
  return JSON.stringify(value) + "\n";
}
