import { t } from "elysia";
import { ModelNotFoundError } from "../../models/catalog.ts";
import { CancelledError, InsufficientMemoryError, InvalidRequestError, RouteNotFoundError, ServerBusyError } from "../../engine/types.ts";
import { RegistryError } from "../../registry/client.ts";
import { bodyParseMessage } from "../json-body.ts";
import { isRequestValidation, validationDetail } from "../validation.ts";

/** Ollama's error body is a bare message: {"error": "..."}. */
export const OllamaError = t.Object({ error: t.String() }, { description: "Ollama's error shape: the message alone" });

export function ollamaError(status: number, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: message }, { status, headers });
}

/** Every failure the Ollama routes can meet, with Ollama's status codes and wording. */
export function toOllamaErrorResponse(code: string | number, error: unknown): Response {
  if (isRequestValidation(code, error)) return ollamaError(400, validationDetail(error).message);
  if (code === "PARSE") return ollamaError(400, bodyParseMessage(error) ?? "invalid JSON in request body");
  if (error instanceof ModelNotFoundError) return ollamaError(404, `model "${error.model}" not found, try pulling it first`);
  if (error instanceof RouteNotFoundError) return ollamaError(404, "404 page not found");
  if (error instanceof InvalidRequestError) return ollamaError(400, error.message);
  if (error instanceof ServerBusyError) return ollamaError(503, "server busy, please try again. maximum pending requests exceeded", { "retry-after": String(error.retryAfterSeconds) });
  if (error instanceof InsufficientMemoryError) return ollamaError(507, error.message);
  if (error instanceof CancelledError) return ollamaError(499, error.message);
  if (error instanceof RegistryError) return ollamaError(error.status, error.message);
  console.error("hearth: internal error:", error);
  return ollamaError(500, "internal server error");
}
