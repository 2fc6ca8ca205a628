import type { Scope } from "./principal.ts";

/** What manages the models on disk: pulling, pushing, creating, copying, deleting, uploading blobs. */
const MODEL_MANAGEMENT = new Set(["/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete"]);

/**
 * The scope a request needs, or "public" for the only requests answered without a credential:
 * the liveness probe and CORS preflights. Model listings are not public: they are how scanners
 * find open servers.
 */
export function requiredScope(method: string, path: string, request: Request): Scope | "public" {
  if (path === "/health" && (method === "GET" || method === "HEAD")) return "public";
  if (method === "OPTIONS" && request.headers.has("origin") && request.headers.has("access-control-request-method")) return "public";
  if (MODEL_MANAGEMENT.has(path) || path.startsWith("/api/blobs/")) return "models";
  if (path === "/metrics" || path === "/v1/keys" || path.startsWith("/v1/keys/")) return "admin";
  return "inference";
}

/** admin may do everything; models and inference only their own. */
export function allows(scopes: ReadonlySet<Scope>, needed: Scope): boolean {
  return scopes.has("admin") || scopes.has(needed);
}
