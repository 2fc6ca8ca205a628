import { failureResponse } from "../api/dialect.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import type { Limits } from "../auth/limits.ts";
import { setPrincipal, type Principal } from "../auth/principal.ts";
import { allows, requiredScope } from "../auth/scopes.ts";
import { PermissionDeniedError } from "../errors.ts";
import type { Cors } from "./cors.ts";

/**
 * The gate before every route: CORS preflights and the liveness probe pass; everything else needs a
 * credential (while authentication is on) with the scope the route needs, within its key's limits.
 * Failures are answered in the path's API's error shape. The principal is set on the request for
 * the routes (whose stored objects, which models) and the request log.
 */
export class Access {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly limits: Limits,
    private readonly cors: Cors,
  ) {}

  wrap(handle: (request: Request) => Response | Promise<Response>): (request: Request) => Promise<Response> {
    return async (request) => {
      const path = new URL(request.url).pathname;
      const scope = requiredScope(request.method, path, request);
      if (scope === "public") {
        return request.method === "OPTIONS" ? this.cors.preflight(request) : this.cors.decorate(request, await handle(request));
      }
      let release: (() => void) | undefined;
      try {
        const principal: Principal = await this.authenticator.authenticate(request);
        if (!allows(principal.scopes, scope)) {
          throw new PermissionDeniedError(`This credential does not have the "${scope}" scope, which ${request.method} ${path} needs.`);
        }
        release = this.limits.admit(principal);
        setPrincipal(request, principal);
      } catch (err) {
        return this.cors.decorate(request, failureResponse(request, "ACCESS", err));
      }
      let response: Response;
      try {
        response = await handle(request);
      } catch (err) {
        release?.();
        throw err;
      }
      return this.cors.decorate(request, release ? releasedAtEnd(response, release) : response);
    };
  }
}

/** The response, with `release` called once its body has been sent or abandoned (a stream counts until its end). */
function releasedAtEnd(response: Response, release: () => void): Response {
  if (!response.body) {
    release();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        const { value, done } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    cancel: async (reason) => {
      release();
      await reader.cancel(reason);
    },
  });
  return new Response(body, response);
}
