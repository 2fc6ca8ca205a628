import { classifyError, errorResponse, type ClassifiedError } from "../errors.ts";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openaiError(status: number, message: string, param: string | null = null, code: string | null = null, headers?: HeadersInit): Response {
  return Response.json(openaiErrorBody(status, message, param, code), { status, headers });
}

function openaiErrorBody(status: number, message: string, param: string | null, code: string | null): OpenAIErrorBody {
  const type = status === 401 ? "invalid_request_error" : status === 403 ? "permission_denied" : status === 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : "invalid_request_error";
  return { error: { message, type, param, code } };
}

/** A failure in OpenAI's shape and wording. */
export function renderOpenAIError(failure: ClassifiedError): OpenAIErrorBody {
  const { message, param = null, code = null } = openaiWording(failure);
  return openaiErrorBody(failure.status, message, param, code);
}

function openaiWording(failure: ClassifiedError): { message: string; param?: string; code?: string } {
  switch (failure.kind) {
    case "invalid":
      return failure;
    case "malformed":
      return { message: failure.message ?? "The request body is not valid JSON.", code: "invalid_json" };
    case "model_not_found":
      return { message: `The model '${failure.model}' does not exist.`, param: failure.param, code: "model_not_found" };
    case "route_not_found":
      return { message: "Unknown request URL. Please check the URL and method.", code: "unknown_url" };
    case "busy":
      return { message: "The server is over capacity: every sequence is busy and the queue is full. Retry later.", code: "server_busy" };
    case "memory":
      return { message: failure.message, param: failure.param, code: "insufficient_memory" };
    case "cancelled":
      return { message: failure.message, code: "cancelled" };
    case "registry":
      return { message: failure.message, code: "registry_error" };
    case "unauthenticated":
      return { message: failure.message, code: failure.code };
    case "forbidden":
      return { message: failure.message, code: "permission_denied" };
    case "rate_limited":
      return { message: failure.message, code: "rate_limit_exceeded" };
    case "object_not_found":
      return { message: failure.message, param: failure.param, code: "not_found" };
    case "internal":
      return { message: "The server had an error while processing your request.", code: "internal_error" };
  }
}

/** Every failure the OpenAI routes can meet, in OpenAI's own error shape. */
export function toOpenAIErrorResponse(code: string | number, error: unknown): Response {
  return errorResponse(classifyError(code, error), renderOpenAIError);
}
