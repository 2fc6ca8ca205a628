/**
 * The error shape a path's dialect answers with: Ollama's `{"error": "…"}` under /api/, OpenAI's
 * `{"error": {"message", "type", "param", "code"}}` everywhere else (the app answers unknown paths
 * outside /api/ the OpenAI way).
 */
function dialectOf(path: string): "ollama" | "openai" {
  return path.startsWith("/api/") ? "ollama" : "openai";
}

export function isErrorShape(path: string, body: unknown): boolean {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  if (dialectOf(path) === "ollama") return typeof error === "string" && error !== "" && Object.keys(body).length === 1;
  if (typeof error !== "object" || error === null) return false;
  const { message, type, param, code } = error as Record<string, unknown>;
  return typeof message === "string" && message !== "" && typeof type === "string" && (param === null || typeof param === "string") && (code === null || typeof code === "string");
}
