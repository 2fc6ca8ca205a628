import { AuthenticationError, CancelledError, InsufficientMemoryError, InvalidRequestError, ModelNotFoundError, ObjectNotFoundError, PermissionDeniedError, RateLimitedError, RouteNotFoundError, ServerBusyError } from "../errors.ts";
import { RegistryError } from "../registry/client.ts";
import { bodyParseMessage } from "./json-body.ts";
import { isRequestValidation, validationDetail } from "./validation.ts";

/**
 * A failure as every API sees it, in no API's words: the status and headers are the same in each,
 * and each API words the failure in its own shape from its kind and details. `message` is the
 * failure's own words where it has any a client may read; the other kinds each API words itself.
 */
export type ClassifiedError = { status: number; headers?: Record<string, string> } & (
  /** a field's value is wrong (the schema or the engine refused it); code: a machine-readable reason such as "context_length_exceeded" */
  | { kind: "invalid"; message: string; param?: string; code?: string }
  /** the body is not a JSON object; message: why, when the body parser said */
  | { kind: "malformed"; message?: string }
  | { kind: "model_not_found"; model: string; param: "model" }
  | { kind: "route_not_found" }
  /** every sequence busy and the queue full: retry later */
  | { kind: "busy"; message: string }
  /** the model does not fit in memory */
  | { kind: "memory"; message: string; param: "model" }
  /** the client went away */
  | { kind: "cancelled"; message: string }
  /** a registry refused a pull or push, or could not be reached */
  | { kind: "registry"; message: string }
  /** no valid credential: code invalid_api_key, missing_credentials or invalid_token */
  | { kind: "unauthenticated"; message: string; code: string }
  /** a valid credential that may not do this */
  | { kind: "forbidden"; message: string }
  /** the credential's rate or parallel limit is reached: retry after `retry-after` */
  | { kind: "rate_limited"; message: string }
  /** a stored object (conversation, response…) the caller has none of */
  | { kind: "object_not_found"; message: string; param?: string }
  /** the server's own fault: logged, never shown */
  | { kind: "internal" }
);

/**
 * Sorts whatever a route threw (or Elysia's error `code` for what it caught itself: a failed
 * schema, a body that does not parse) into a kind of failure. An error of none of the known kinds
 * is the server's fault: it is logged here, once, whichever API answers it.
 */
export function classifyError(code: string | number, error: unknown): ClassifiedError {
  if (isRequestValidation(code, error)) {
    const detail = validationDetail(error);
    return { kind: "invalid", status: 400, message: detail.message, param: detail.param ?? undefined, code: "invalid_value" };
  }
  if (code === "PARSE") return { kind: "malformed", status: 400, message: bodyParseMessage(error) };
  if (error instanceof ModelNotFoundError) return { kind: "model_not_found", status: 404, model: error.model, param: "model" };
  if (error instanceof RouteNotFoundError) return { kind: "route_not_found", status: 404 };
  if (error instanceof InvalidRequestError) return { kind: "invalid", status: 400, message: error.message, param: error.param, code: error.code };
  if (error instanceof ServerBusyError) return { kind: "busy", status: 503, message: error.message, headers: { "retry-after": String(error.retryAfterSeconds) } };
  // 507 Insufficient Storage: the server cannot hold the model; retrying later does not help unless other models go.
  if (error instanceof InsufficientMemoryError) return { kind: "memory", status: 507, message: error.message, param: "model" };
  // nginx's "client closed request": nobody reads it, but access logs should not call it a fault.
  if (error instanceof CancelledError) return { kind: "cancelled", status: 499, message: error.message };
  if (error instanceof AuthenticationError) return { kind: "unauthenticated", status: 401, message: error.message, code: error.code, headers: { "www-authenticate": "Bearer" } };
  if (error instanceof PermissionDeniedError) return { kind: "forbidden", status: 403, message: error.message };
  if (error instanceof RateLimitedError) return { kind: "rate_limited", status: 429, message: error.message, headers: { "retry-after": String(error.retryAfterSeconds) } };
  if (error instanceof ObjectNotFoundError) return { kind: "object_not_found", status: 404, message: error.message, param: error.param };
  if (error instanceof RegistryError) return { kind: "registry", status: error.status, message: error.message };
  console.error("hearth: internal error:", error);
  return { kind: "internal", status: 500 };
}

/** An API's error response: its rendering of the failure as the body, with the failure's status and headers. */
export function errorResponse<Body>(failure: ClassifiedError, render: (failure: ClassifiedError) => Body): Response {
  return Response.json(render(failure), { status: failure.status, headers: failure.headers });
}
