/**
 * The error shape a path's dialect answers with: Ollama's `{"error": "…", "request_id"}` under /api/,
 * Anthropic's `{"type": "error", "error": {"type", "message"}, "request_id"}` under /v1/messages,
 * OpenAI's `{"error": {"message", "type", "param", "code"}}` everywhere else (the app answers unknown
 * paths outside /api/ and /v1/messages the OpenAI way), with the seed's top-level `code`, `message`
 * and `request_id` beside it. `request_id` is optional: a server without request ids is judged too.
 */
export function dialectOf(path: string): "ollama" | "openai" | "anthropic" {
  if (path.startsWith("/api/")) return "ollama";
  const pathname = path.split("?")[0]!;
  return pathname === "/v1/messages" || pathname.startsWith("/v1/messages/") ? "anthropic" : "openai";
}

export function isErrorShape(path: string, body: unknown): boolean {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  if (dialectOf(path) === "anthropic") {
    const { type, message } = (error ?? {}) as Record<string, unknown>;
    const requestId = (body as { request_id?: unknown }).request_id;
    return (body as { type?: unknown }).type === "error" && typeof type === "string" && typeof message === "string" && message !== "" && (requestId === null || typeof requestId === "string");
  }
  const requestId = (body as { request_id?: unknown }).request_id;
  if (requestId !== undefined && typeof requestId !== "string") return false;
  if (dialectOf(path) === "ollama") return typeof error === "string" && error !== "" && Object.keys(body).every((key) => key === "error" || key === "request_id");
  if (typeof error !== "object" || error === null) return false;
  const { message, type, param, code } = error as Record<string, unknown>;
  return typeof message === "string" && message !== "" && typeof type === "string" && (param === null || typeof param === "string") && (code === null || typeof code === "string");
}
