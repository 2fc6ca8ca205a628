import { classifyError, errorResponse, type ClassifiedError } from "../errors.ts";
import type { AnthropicErrorT } from "./schemas.ts";
import { requestIdOf } from "../../observability/request-id.ts";

/** The paths answered in Anthropic's shape: its API's routes, and unknown paths below them. */
export function isAnthropicPath(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === "/v1/messages" || path.startsWith("/v1/messages/");
}

/** Anthropic names fields with dots all the way down: `messages.0.content.1.type`. */
export function dottedPath(param: string): string {
  return param.replace(/\[(\d+)\]/g, ".$1");
}

/**
 * The status Anthropic answers a failure with: a full queue is its 529 overloaded_error (the SDK
 * retries it after `retry-after`); everything else keeps the status every dialect gives it.
 */
function anthropicStatus(failure: ClassifiedError): number {
  return failure.kind === "busy" ? 529 : failure.status;
}

/**
 * Anthropic's error types. A model that does not fit in memory (507) has no type of its own: it is
 * an `api_error`, the server unable to do the work rather than the request being malformed, sent
 * with `x-should-retry: false` since retrying does not help until other models are unloaded.
 */
function errorType(failure: ClassifiedError): string {
  switch (failure.kind) {
    case "invalid":
    case "malformed":
    case "cancelled":
      return "invalid_request_error";
    case "model_not_found":
    case "route_not_found":
      return "not_found_error";
    case "busy":
      return "overloaded_error";
    case "unauthenticated":
      return "authentication_error";
    case "forbidden":
      return "permission_error";
    case "rate_limited":
      return "rate_limit_error";
    case "object_not_found":
      return "not_found_error";
    case "memory":
    case "internal":
      return "api_error";
    case "registry":
      return statusType(failure.status);
  }
}

function statusType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  return status >= 500 ? "api_error" : "invalid_request_error";
}

function anthropicMessage(failure: ClassifiedError): string {
  switch (failure.kind) {
    case "invalid": {
      if (!failure.param) return failure.message;
      const field = dottedPath(failure.param);
      const message = failure.message.replaceAll(failure.param, field);
      return message.includes(field) ? message : `${field}: ${message}`;
    }
    case "malformed":
      return failure.message ?? "The request body is not valid JSON.";
    case "model_not_found":
      return `model: ${failure.model}`;
    case "route_not_found":
      return "Not found";
    case "busy":
      return "Overloaded: every sequence is busy and the queue is full. Retry later.";
    case "memory":
    case "cancelled":
    case "registry":
    case "unauthenticated":
    case "forbidden":
    case "rate_limited":
    case "object_not_found":
      return failure.message;
    case "internal":
      return "Internal server error";
  }
}

/** A failure in Anthropic's shape. */
export function renderAnthropicError(failure: ClassifiedError, requestId: string | null): AnthropicErrorT {
  return { type: "error", error: { type: errorType(failure), message: anthropicMessage(failure) }, request_id: requestId };
}

/** An error body Anthropic's way for a status and message of the server's own (body too large, shutting down). */
export function anthropicError(status: number, message: string, request: Request, headers: Record<string, string> = {}): Response {
  const requestId = requestIdOf(request);
  const body: AnthropicErrorT = { type: "error", error: { type: statusType(status), message }, request_id: requestId };
  return Response.json(body, { status, headers: { ...headers, "request-id": requestId } });
}

/** Every failure the Anthropic routes can meet, in Anthropic's error shape, with the request's id. */
export function toAnthropicErrorResponse(code: string | number, error: unknown, request: Request): Response {
  const failure = classifyError(code, error);
  const requestId = requestIdOf(request);
  const headers: Record<string, string> = { ...failure.headers, "request-id": requestId, ...(failure.kind === "memory" && { "x-should-retry": "false" }) };
  return errorResponse({ ...failure, status: anthropicStatus(failure), headers }, (f) => renderAnthropicError(f, requestId));
}

/** The last SSE event of a stream that fails after it began: Anthropic's `event: error`. */
export function anthropicStreamError(err: unknown, requestId: string | null): string {
  return `event: error\ndata: ${JSON.stringify(renderAnthropicError(classifyError("STREAM", err), requestId))}\n\n`;
}
