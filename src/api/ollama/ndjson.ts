import { classifyError } from "../errors.ts";
import { ndjsonLine, NDJSON_HEADERS, streamResponse } from "../stream.ts";
import { renderOllamaError } from "./errors.ts";

/**
 * Newline-delimited JSON, Ollama's streaming format: one object per line. An error after the
 * first byte can no longer change the status code, so it is sent as a final `{"error": "…"}` line.
 */
export function ndjsonResponse(chunks: AsyncGenerator<unknown>): Response {
  return streamResponse(chunks, {
    headers: NDJSON_HEADERS,
    value: ndjsonLine,
    error: (err) => ndjsonLine(renderOllamaError(classifyError("STREAM", err))),
  });
}
