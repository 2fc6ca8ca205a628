import { t } from "elysia";
import { classifyError, errorResponse, type ClassifiedError } from "../errors.ts";

/** Ollama's error body is a bare message: {"error": "..."}. */
export const OllamaError = t.Object({ error: t.String() }, { description: "Ollama's error shape: the message alone" });

export function ollamaError(status: number, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: message }, { status, headers });
}

/** A failure in Ollama's shape and wording: the message alone. */
export function renderOllamaError(failure: ClassifiedError): { error: string } {
  return { error: ollamaWording(failure) };
}

function ollamaWording(failure: ClassifiedError): string {
  switch (failure.kind) {
    case "malformed":
      return failure.message ?? "invalid JSON in request body";
    case "model_not_found":
      return `model "${failure.model}" not found, try pulling it first`;
    case "route_not_found":
      return "404 page not found";
    case "busy":
      return "server busy, please try again. maximum pending requests exceeded";
    case "unauthenticated":
      return "unauthorized";
    case "internal":
      return "internal server error";
    default:
      return failure.message;
  }
}

/** Every failure the Ollama routes can meet, with Ollama's status codes and wording. */
export function toOllamaErrorResponse(code: string | number, error: unknown): Response {
  return errorResponse(classifyError(code, error), renderOllamaError);
}
