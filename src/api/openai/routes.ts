import { Elysia, t } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { ModelInfo } from "../../models/catalog.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { completionsRoutes } from "./completions.ts";
import { embeddingsRoutes } from "./embeddings.ts";
import { callStyleOf } from "./legacy-functions.ts";
import { toOpenAIErrorResponse } from "./errors.ts";
import { ChatCompletion, ChatCompletionRequest, Model, ModelList, OpenAIError, type ChatCompletionRequestT, type ModelT } from "./schemas.ts";
import { collectCompletion, streamChunks, toGenerationRequest } from "./translate.ts";
import { sseResponse } from "./sse.ts";

function modelObject(m: ModelInfo): ModelT {
  return {
    id: m.name,
    object: "model",
    created: Math.floor(m.modifiedAt.getTime() / 1000),
    owned_by: "hearth",
    context_length: m.contextLength,
    capabilities: m.capabilities,
  };
}

export function openaiRoutes(engine: Engine) {
  const chat = async ({ body, request }: { body: ChatCompletionRequestT; request: Request }) => {
    const { events, modelName } = await engine.start(toGenerationRequest(body, request.signal));
    const calls = callStyleOf(body);
    // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
    if (body.stream) return sseResponse(streamChunks(events, modelName, body.stream_options?.include_usage === true, calls)) as never;
    return collectCompletion(events, modelName, calls);
  };
  const chatSchema = {
    // The app reads every body as JSON whatever its content type; "json" says so in the OpenAPI document.
    parse: "json" as const,
    body: ChatCompletionRequest,
    response: { 200: ChatCompletion, 400: OpenAIError, 404: OpenAIError, 503: OpenAIError, 507: OpenAIError },
  };
  return new Elysia({ ...ROUTE_CONFIG, name: "openai", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post("/v1/chat/completions", chat, {
      ...chatSchema,
      detail: {
        summary: "Create a chat completion",
        description: "OpenAI-compatible. With `stream: true` the answer is a `text/event-stream` of chat.completion.chunk objects ending in `data: [DONE]`.",
      },
    })
    .post("/v1/chat", chat, { ...chatSchema, detail: { summary: "Create a chat completion (alias of /v1/chat/completions)" } })
    .get("/v1/models", async () => ({ object: "list" as const, data: (await engine.catalog.list()).map(modelObject) }), {
      response: { 200: ModelList },
      detail: { summary: "List the models in the models folder" },
    })
    .get("/v1/models/:model", async ({ params }) => modelObject(await engine.catalog.get(params.model)), {
      params: t.Object({ model: t.String({ description: "A model name; names with a folder part are URL-encoded" }) }),
      response: { 200: Model, 404: OpenAIError },
      detail: { summary: "Describe one model" },
    })
    .use(completionsRoutes(engine))
    .use(embeddingsRoutes(engine));
}
