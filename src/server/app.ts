import { Elysia, t } from "elysia";
import { openaiError } from "../api/openai/errors.ts";
import { openaiRoutes } from "../api/openai/routes.ts";
import type { Engine } from "../engine/engine.ts";
import { docs } from "./docs.ts";
import { ROUTE_CONFIG } from "./elysia-config.ts";

/** Requests larger than this are refused with a 413 in the API's error shape. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Bun's own cut-off, above ours, for bodies without Content-Length (it answers an empty 413). */
export const BUN_BODY_LIMIT = MAX_BODY_BYTES + 1024 * 1024;

export function createApp(engine: Engine) {
  return new Elysia(ROUTE_CONFIG)
    .onRequest(({ request }) => {
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > MAX_BODY_BYTES) {
        return openaiError(413, `The request body is ${length} bytes; the limit is ${MAX_BODY_BYTES} bytes.`, null, "request_too_large");
      }
    })
    .use(docs())
    .get("/health", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "Liveness probe", tags: ["Server"] },
    })
    .use(openaiRoutes(engine))
    .onError(({ code, error }) => {
      if (code === "NOT_FOUND") return Response.json({ error: { message: "Not found", type: "invalid_request_error", param: null, code: "not_found" } }, { status: 404 });
      if (code === "PARSE" || code === "VALIDATION") return Response.json({ error: { message: String((error as Error).message), type: "invalid_request_error", param: null, code: null } }, { status: 400 });
      console.error("hearth: internal error:", error);
      return Response.json({ error: { message: "internal error", type: "server_error", param: null, code: null } }, { status: 500 });
    });
}

export type App = ReturnType<typeof createApp>;
