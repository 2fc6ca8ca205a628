import { Elysia, t } from "elysia";
import { openaiError, toOpenAIErrorResponse } from "../api/openai/errors.ts";
import { ollamaError, toOllamaErrorResponse } from "../api/ollama/errors.ts";
import { ollamaRoutes } from "../api/ollama/routes.ts";
import { anthropicError, isAnthropicPath, toAnthropicErrorResponse } from "../api/anthropic/errors.ts";
import { anthropicRoutes } from "../api/anthropic/routes.ts";
import { llamacppRoutes } from "../api/llamacpp/tokenize.ts";
import { openaiRoutes } from "../api/openai/routes.ts";
import { responsesRoutes } from "../api/responses/routes.ts";
import { readJsonBody } from "../api/json-body.ts";
import { quietValidationErrors } from "../api/validation.ts";
import type { Engine } from "../engine/engine.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Telemetry } from "../observability/telemetry.ts";
import { docs } from "./docs.ts";
import { metricsRoute } from "./metrics-route.ts";
import { ROUTE_CONFIG } from "../api/route-config.ts";
import { RouteNotFoundError } from "../errors.ts";
import { isBlobUpload, MAX_BODY_BYTES, oversizeBody } from "./body-limit.ts";

/**
 * What a blob upload's body parses to: nothing, since its route streams the bytes to disk itself.
 * Any value returned from the parse hook ends Elysia's parsing, so the body is never read here.
 */
const STREAMED_BODY = Object.freeze({});

function isOllamaPath(request: Request): boolean {
  return new URL(request.url).pathname.startsWith("/api/");
}

/** The app's observers: metrics served at /metrics, and the telemetry told which route each request matched. */
export interface Observability {
  metrics: Metrics;
  telemetry: Telemetry;
}

export function createApp(engine: Engine, observability: Observability) {
  const { metrics, telemetry } = observability;
  return new Elysia(ROUTE_CONFIG)
    // A body that fails to parse never reaches transform, so its route is noted when the error is.
    .onTransform({ as: "global" }, ({ request, route }) => telemetry.routed(request, route))
    .onError({ as: "global" }, ({ request, route }) => telemetry.routed(request, route))
    // Every body is JSON, whatever its content type says (curl -d sends form-urlencoded), and is
    // decoded first when sent compressed (Content-Encoding); a failure is a ParseError that each API
    // answers in its own shape.
    .onParse({ as: "global" }, ({ request }) => (isBlobUpload(request) ? STREAMED_BODY : readJsonBody(request, MAX_BODY_BYTES)))
    .onRequest(async ({ request }) => {
      if (isBlobUpload(request)) return;
      const length = await oversizeBody(request);
      if (length !== undefined) {
        const message = `The request body is ${length} bytes; the limit is ${MAX_BODY_BYTES} bytes.`;
        if (isAnthropicPath(request)) return anthropicError(413, message, request);
        return isOllamaPath(request) ? ollamaError(413, message) : openaiError(413, message, null, "request_too_large");
      }
    })
    .use(docs())
    .get("/health", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "Liveness probe", tags: ["Server"] },
    })
    .use(metricsRoute(metrics))
    .use(openaiRoutes(engine))
    .use(responsesRoutes(engine))
    .use(ollamaRoutes(engine))
    .use(anthropicRoutes(engine))
    .use(llamacppRoutes(engine))
    // Once every route is in: their schemas' failures are worded from the first error alone.
    .use(quietValidationErrors)
    // Routes outside both adapters (unknown paths): answer in the dialect the path belongs to.
    .onError(({ code, error, request }) => {
      if (isAnthropicPath(request)) return toAnthropicErrorResponse(code, notFound(code, error), request);
      return isOllamaPath(request) ? toOllamaErrorResponse(code, notFound(code, error)) : toOpenAIErrorResponse(code, notFound(code, error));
    });
}

function notFound(code: string | number, error: unknown): unknown {
  return code === "NOT_FOUND" ? new RouteNotFoundError() : error;
}
