import { classifyError } from "../errors.ts";
import { SSE_HEADERS, sseEvent, streamResponse } from "../stream.ts";
import { errorEvent, type ResponseStreamEvent, type Sequence } from "./events.ts";

/**
 * Server-sent events named by their type (`event: response.output_text.delta`). A failure after the
 * first byte, which can no longer change the status code, ends the stream with an `error` event
 * numbered after the last one sent.
 */
export function responsesSse(events: AsyncGenerator<ResponseStreamEvent>, sequence: Sequence): Response {
  return streamResponse(events, {
    headers: SSE_HEADERS,
    value: (event) => sseEvent(event.type, event),
    error: (err) => sseEvent("error", errorEvent(classifyError("STREAM", err), sequence)),
  });
}
