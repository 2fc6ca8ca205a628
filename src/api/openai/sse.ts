import { classifyError } from "../errors.ts";
import { sseData, SSE_HEADERS, streamResponse } from "../stream.ts";
import { renderOpenAIError } from "./errors.ts";

/**
 * Server-sent events in OpenAI's framing, ending with `data: [DONE]`. An error after the first
 * byte can no longer change the status code, so it is sent as a final `data: {"error": …}` event.
 */
export function sseResponse(chunks: AsyncGenerator<unknown>): Response {
  return streamResponse(chunks, {
    headers: SSE_HEADERS,
    value: sseData,
    end: "data: [DONE]\n\n",
    error: (err) => sseData(renderOpenAIError(classifyError("STREAM", err))),
  });
}
