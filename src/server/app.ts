import type { Database } from "bun:sqlite";
import { Elysia, t } from "elysia";
import { openaiError } from "../api/openai/errors.ts";
import { ollamaError } from "../api/ollama/errors.ts";
import { dialectOf, failureResponse } from "../api/dialect.ts";
import { ollamaRoutes } from "../api/ollama/routes.ts";
import { anthropicError } from "../api/anthropic/errors.ts";
import { anthropicRoutes } from "../api/anthropic/routes.ts";
import { keysRoutes } from "../api/keys/routes.ts";
import { llamacppRoutes } from "../api/llamacpp/tokenize.ts";
import { openaiRoutes } from "../api/openai/routes.ts";
import { conversationsRoutes } from "../api/conversations/routes.ts";
import { responsesRoutes } from "../api/responses/routes.ts";
import { filesRoutes } from "../api/files/routes.ts";
import { vectorStoresRoutes } from "../api/vector-stores/routes.ts";
import type { Library } from "../rag/library.ts";
import { rerankRoutes } from "../api/rerank/routes.ts";
import { readJsonBody } from "../api/json-body.ts";
import { quietValidationErrors } from "../api/validation.ts";
import type { Engine } from "../engine/engine.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Telemetry } from "../observability/telemetry.ts";
import { docs } from "./docs.ts";
import { metricsRoute } from "./metrics-route.ts";
import { ROUTE_CONFIG } from "../api/route-config.ts";
import { ModelNotFoundError, RouteNotFoundError } from "../errors.ts";
import { mayUseModel, principalOf } from "../auth/principal.ts";
import { modelsNamed } from "../api/models-named.ts";
import { isStreamedUpload, MAX_BODY_BYTES, oversizeBody } from "./body-limit.ts";

/**
 * What an upload's body parses to: nothing, since its route streams the bytes to disk itself.
 * Any value returned from the parse hook ends Elysia's parsing, so the body is never read here.
 */
const STREAMED_BODY = Object.freeze({});

function hasNoBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  return (length === null || length === "0") && !request.headers.has("transfer-encoding");
}

/** The app's observers: metrics served at /metrics, and the telemetry told which route each request matched. */
export interface Observability {
  metrics: Metrics;
  telemetry: Telemetry;
}

/**
 * The app over an engine and a store (`db`: keys, conversations, stored responses), which the
 * stateful routes keep what they are asked to in, and the library of uploaded files and vector
 * stores (whose ingestion queue the caller starts and stops).
 */
export function createApp(engine: Engine, observability: Observability, db: Database, library: Library) {
  const { metrics, telemetry } = observability;
  return new Elysia(ROUTE_CONFIG)
    // A body that fails to parse never reaches transform, so its route is noted when the error is.
    .onTransform({ as: "global" }, ({ request, route }) => telemetry.routed(request, route))
    .onError({ as: "global" }, ({ request, route }) => telemetry.routed(request, route))
    // Every body is JSON, whatever its content type says (curl -d sends form-urlencoded), and is
    // decoded first when sent compressed (Content-Encoding); a failure is a ParseError that each API
    // answers in its own shape.
    .onParse({ as: "global" }, ({ request }) => {
      if (isStreamedUpload(request)) return STREAMED_BODY;
      // OpenAI's DELETE routes (a conversation, a response, a key) take no body, and the SDKs send
      // none; Ollama's /api/delete takes one, and an empty one is refused as any empty body is.
      if (request.method === "DELETE" && dialectOf(request) !== "ollama" && hasNoBody(request)) return {};
      return readJsonBody(request, MAX_BODY_BYTES);
    })
    .onRequest(async ({ request }) => {
      if (isStreamedUpload(request)) return;
      const length = await oversizeBody(request);
      if (length !== undefined) {
        const message = `The request body is ${length} bytes; the limit is ${MAX_BODY_BYTES} bytes.`;
        const dialect = dialectOf(request);
        if (dialect === "anthropic") return anthropicError(413, message, request);
        return dialect === "ollama" ? ollamaError(413, message) : openaiError(413, message, null, "request_too_large");
      }
    })
    // A key limited to some models is told the others do not exist, in each API's own words.
    .onBeforeHandle({ as: "global" }, ({ request, body, params }) => {
      const principal = principalOf(request);
      const hidden = modelsNamed(body, params, dialectOf(request) === "ollama").find((name) => !mayUseModel(principal, name));
      if (hidden !== undefined) throw new ModelNotFoundError(hidden);
    })
    .use(docs())
    .get("/health", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "Liveness probe", tags: ["Server"], security: [] },
    })
    .use(metricsRoute(metrics))
    .use(openaiRoutes(engine, db, library))
    .use(conversationsRoutes(db))
    .use(responsesRoutes(engine, db, library))
    .use(filesRoutes(library))
    .use(vectorStoresRoutes(engine, library))
    .use(ollamaRoutes(engine, library))
    .use(anthropicRoutes(engine))
    .use(llamacppRoutes(engine))
    .use(rerankRoutes(engine))
    .use(keysRoutes(db))
    // Once every route is in: their schemas' failures are worded from the first error alone.
    .use(quietValidationErrors)
    // Routes outside both adapters (unknown paths): answer in the dialect the path belongs to.
    .onError(({ code, error, request }) => failureResponse(request, code, notFound(code, error)));
}

function notFound(code: string | number, error: unknown): unknown {
  return code === "NOT_FOUND" ? new RouteNotFoundError() : error;
}
