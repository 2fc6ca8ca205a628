import { withHeader } from "./request-ids.ts";

const METHODS = "GET, POST, DELETE, HEAD, OPTIONS";
/** What a browser app may read from an answer: the ids, the conversation, the wait before retrying. */
const EXPOSED = "X-Request-Id, request-id, X-Conversation-Id, Retry-After";
const PREFLIGHT_CACHE_S = "600";

/** Cross-origin access for browser apps: only the origins the operator lists (--cors-origin), none by default. */
export class Cors {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes("*");
    this.origins = new Set(origins);
  }

  private allowed(origin: string | null): origin is string {
    return origin !== null && (this.any || this.origins.has(origin));
  }

  /** The answer to a preflight: the methods and headers asked for, from an allowed origin; a bare 403 otherwise, which the browser enforces. */
  preflight(request: Request): Response {
    const origin = request.headers.get("origin");
    if (!this.allowed(origin)) return new Response(null, { status: 403, headers: { vary: "Origin" } });
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": METHODS,
        "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "authorization, content-type",
        "access-control-max-age": PREFLIGHT_CACHE_S,
        vary: "Origin",
      },
    });
  }

  /** An answer a browser at an allowed origin may read. */
  decorate(request: Request, response: Response): Response {
    const origin = request.headers.get("origin");
    if (!this.allowed(origin)) return response;
    const allowed = withHeader(response, "access-control-allow-origin", origin);
    allowed.headers.set("access-control-expose-headers", EXPOSED);
    allowed.headers.append("vary", "Origin");
    return allowed;
  }
}
