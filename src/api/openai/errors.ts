import { ModelNotFoundError } from "../../models/catalog.ts";
import { CancelledError, InsufficientMemoryError, InvalidRequestError, RouteNotFoundError, ServerBusyError } from "../../engine/types.ts";
import { bodyParseMessage } from "../json-body.ts";
import { isRequestValidation, validationDetail } from "../validation.ts";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openaiError(status: number, message: string, param: string | null = null, code: string | null = null, headers?: HeadersInit): Response {
  const type = status === 401 ? "authentication_error" : status >= 500 ? "server_error" : "invalid_request_error";
  const body: OpenAIErrorBody = { error: { message, type, param, code } };
  return Response.json(body, { status, headers });
}

/** Every failure the OpenAI routes can meet, in OpenAI's own error shape. */
export function toOpenAIErrorResponse(code: string | number, error: unknown): Response {
  if (isRequestValidation(code, error)) {
    const detail = validationDetail(error);
    return openaiError(400, detail.message, detail.param, "invalid_value");
  }
  if (code === "PARSE") return openaiError(400, bodyParseMessage(error) ?? "The request body is not valid JSON.", null, "invalid_json");
  if (error instanceof ModelNotFoundError) return openaiError(404, `The model '${error.model}' does not exist.`, "model", "model_not_found");
  if (error instanceof RouteNotFoundError) return openaiError(404, "Unknown request URL. Please check the URL and method.", null, "unknown_url");
  if (error instanceof InvalidRequestError) return openaiError(400, error.message, error.param ?? null, error.code ?? null);
  if (error instanceof ServerBusyError) {
    return openaiError(503, "The server is over capacity: every sequence is busy and the queue is full. Retry later.", null, "server_busy", { "retry-after": String(error.retryAfterSeconds) });
  }
  // 507 Insufficient Storage: the server cannot hold the model; retrying later does not help unless other models go.
  if (error instanceof InsufficientMemoryError) return openaiError(507, error.message, "model", "insufficient_memory");
  // nginx's "client closed request": nobody reads it, but access logs should not call it a fault.
  if (error instanceof CancelledError) return openaiError(499, error.message, null, "cancelled");
  console.error("hearth: internal error:", error);
  return openaiError(500, "The server had an error while processing your request.", null, "internal_error");
}
