/**
 * The Docker bearer-token dance: a /v2/ request without the token gets 401 and a
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge; the client fetches
 * `realm?service=&scope=` (with Basic credentials when the registry wants them) and retries with
 * `Authorization: Bearer <token>`. The realm is on the registry's own host because Ollama refuses
 * a realm on another host (server/auth.go).
 */
import { RegistryError } from "./errors.ts";
import type { RegistryState } from "./state.ts";

export const SERVICE = "fake-registry";

/** Throws the 401 challenge unless the request carries the token (or no token is configured). */
export function requireToken(req: Request, state: RegistryState, repository: string | undefined): void {
  const token = state.settings.token;
  if (!token || req.headers.get("authorization") === `Bearer ${token}`) return;
  const actions = req.method === "GET" || req.method === "HEAD" ? "pull" : "pull,push";
  const scope = repository ? `,scope="repository:${repository}:${actions}"` : "";
  throw new RegistryError(401, "UNAUTHORIZED", "authentication required", undefined, {
    "WWW-Authenticate": `Bearer realm="${state.url}/token",service="${SERVICE}"${scope}`,
  });
}

/** GET /token?service=&scope=: the token, for matching Basic credentials or anyone when none are set. */
export function tokenResponse(req: Request, state: RegistryState): Response {
  const token = state.settings.token;
  if (!token) throw new RegistryError(404, "NOT_FOUND", "this registry has no token endpoint");
  const credentials = state.settings.tokenEndpoint;
  if (credentials) {
    const expected = `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`;
    if (req.headers.get("authorization") !== expected) {
      throw new RegistryError(401, "UNAUTHORIZED", "invalid username or password", undefined, {
        "WWW-Authenticate": `Basic realm="${SERVICE}"`,
      });
    }
  }
  return Response.json({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
}
