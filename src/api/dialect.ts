import { isAnthropicPath, toAnthropicErrorResponse } from "./anthropic/errors.ts";
import { toOllamaErrorResponse } from "./ollama/errors.ts";
import { toOpenAIErrorResponse } from "./openai/errors.ts";

/** Which API a request speaks, by its path alone: Ollama's below /api/, Anthropic's below /v1/messages, OpenAI's everywhere else. */
export type Dialect = "openai" | "ollama" | "anthropic";

export function dialectOf(request: Request): Dialect {
  if (new URL(request.url).pathname.startsWith("/api/")) return "ollama";
  return isAnthropicPath(request) ? "anthropic" : "openai";
}

/** A failure met before any route took the request (authentication, limits, an unknown path), answered in the path's API's shape. */
export function failureResponse(request: Request, code: string | number, error: unknown): Response {
  switch (dialectOf(request)) {
    case "anthropic":
      return toAnthropicErrorResponse(code, error, request);
    case "ollama":
      return toOllamaErrorResponse(code, error);
    case "openai":
      return toOpenAIErrorResponse(code, error);
  }
}
