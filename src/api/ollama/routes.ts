import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { Library } from "../../rag/library.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { blobsRoutes } from "./blobs.ts";
import { chatRoutes } from "./chat.ts";
import { createRoutes } from "./create.ts";
import { embedRoutes } from "./embed.ts";
import { toOllamaErrorResponse } from "./errors.ts";
import { generateRoutes } from "./generate.ts";
import { modelsRoutes } from "./models.ts";
import { psRoutes } from "./ps.ts";
import { pullRoutes } from "./pull.ts";
import { pushRoutes } from "./push.ts";
import { versionRoutes } from "./version.ts";

/** Ollama's native API (docs/api.md), a second adapter over the same engine. */
/** `library`: the vector stores chat's `rag_params` searches. */
export function ollamaRoutes(engine: Engine, library: Library) {
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama", detail: { tags: ["Ollama"] } })
    .onError(({ code, error }) => toOllamaErrorResponse(code, error))
    .use(chatRoutes(engine, library))
    .use(generateRoutes(engine))
    .use(psRoutes(engine))
    .use(versionRoutes())
    .use(modelsRoutes(engine))
    .use(embedRoutes(engine))
    .use(pullRoutes(engine))
    .use(blobsRoutes(engine))
    .use(createRoutes(engine))
    .use(pushRoutes(engine));
}
