import { Elysia, t } from "elysia";
import { openaiRoutes } from "../api/openai/routes.ts";
import type { Engine } from "../engine/engine.ts";
import { docs } from "./docs.ts";
import { ROUTE_CONFIG } from "./elysia-config.ts";

export function createApp(engine: Engine) {
  return new Elysia(ROUTE_CONFIG)
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
