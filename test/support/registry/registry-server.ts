/** The registry itself (Bun.serve on 127.0.0.1): records, applies overrides and auth, routes. */
import type { Server } from "bun";
import { requireToken, tokenResponse } from "./auth.ts";
import { blobResponse } from "./blob-routes.ts";
import { RegistryError } from "./errors.ts";
import { takeStatusOverride } from "./faults.ts";
import { manifestResponse } from "./manifest-routes.ts";
import type { RegistryState } from "./state.ts";
import { uploadResponse } from "./upload-routes.ts";

export function startRegistryServer(state: RegistryState): Server<undefined> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // Stalls and slow transfers are the point of some tests: no idle cut-off (Bun's default is 10 s).
    idleTimeout: 0,
    // Chunks of a pushed 1 GiB blob may arrive in one PATCH; the body is streamed to disk anyway.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (req) => handle(req, state),
  });
}

async function handle(req: Request, state: RegistryState): Promise<Response> {
  const url = new URL(req.url);
  state.stats.requests.push({
    server: "registry",
    method: req.method,
    path: url.pathname + url.search,
    range: req.headers.get("range"),
    contentRange: req.headers.get("content-range"),
    authorization: req.headers.get("authorization"),
    host: req.headers.get("host"),
  });
  const override = takeStatusOverride(state.faults, req.method, url.pathname);
  if (override) {
    return new Response(req.method === "HEAD" ? null : (override.body ?? ""), { status: override.status, headers: override.headers });
  }
  try {
    if (url.pathname === "/token" && req.method === "GET") return tokenResponse(req, state);
    const route = parseRoute(url.pathname);
    requireToken(req, state, route.name);
    switch (route.kind) {
      case "base":
        return Response.json({}, { headers: { "Docker-Distribution-API-Version": "registry/2.0" } });
      case "manifest":
        return await manifestResponse(req, state, route.name, route.reference);
      case "upload":
        return await uploadResponse(req, url, state, route.name, route.uuid);
      case "blob":
        return blobResponse(req, state, route.digest);
    }
  } catch (error) {
    if (error instanceof RegistryError) return error.toResponse(req.method);
    // Mostly a client that went away mid-upload; a bug in the fake shows up as this 500's message.
    return new RegistryError(500, "UNKNOWN", String(error)).toResponse(req.method);
  }
}

type Route =
  | { kind: "base"; name?: undefined }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "upload"; name: string; uuid: string }
  | { kind: "blob"; name: string; digest: string };

/** Repository names may have several segments (`library/tiny`); they match case-insensitively. */
function parseRoute(pathname: string): Route {
  if (pathname === "/v2/" || pathname === "/v2") return { kind: "base" };
  const decode = (s: string) => decodeURIComponent(s);
  let m = /^\/v2\/(.+?)\/blobs\/uploads\/([^/]*)$/.exec(pathname);
  if (m) return { kind: "upload", name: decode(m[1]!).toLowerCase(), uuid: decode(m[2]!) };
  m = /^\/v2\/(.+?)\/blobs\/([^/]+)$/.exec(pathname);
  if (m) return { kind: "blob", name: decode(m[1]!).toLowerCase(), digest: decode(m[2]!) };
  m = /^\/v2\/(.+?)\/manifests\/([^/]+)$/.exec(pathname);
  if (m) return { kind: "manifest", name: decode(m[1]!).toLowerCase(), reference: decode(m[2]!) };
  throw new RegistryError(404, "NAME_UNKNOWN", `no route for ${pathname}`);
}
