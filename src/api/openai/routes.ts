import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { toOpenAIErrorResponse } from "./errors.ts";
import { ChatCompletion, ChatCompletionRequest, ModelList, OpenAIError, type ModelListT } from "./schemas.ts";
import { collectCompletion, streamChunks, toGenerationRequest } from "./translate.ts";
import { sseResponse } from "./sse.ts";

export function openaiRoutes(engine: Engine) {
  return new Elysia({ name: "openai", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/v1/chat/completions",
      async ({ body, request }) => {
        const { events } = await engine.start(toGenerationRequest(body, request.signal));
        // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
        if (body.stream) return sseResponse(streamChunks(events, body.model, body.stream_options?.include_usage === true)) as never;
        return collectCompletion(events, body.model);
      },
      {
        body: ChatCompletionRequest,
        response: { 200: ChatCompletion, 400: OpenAIError, 404: OpenAIError },
        detail: {
          summary: "Create a chat completion",
          description: "OpenAI-compatible. With `stream: true` the answer is a `text/event-stream` of chat.completion.chunk objects ending in `data: [DONE]`.",
        },
      },
    )
    .get(
      "/v1/models",
      async (): Promise<ModelListT> => ({
        object: "list",
        data: (await engine.catalog.list()).map((m) => ({
          id: m.name,
          object: "model",
          created: Math.floor(m.modifiedAt.getTime() / 1000),
          owned_by: "hearth",
          context_length: m.contextLength,
          capabilities: m.capabilities,
        })),
      }),
      { response: { 200: ModelList }, detail: { summary: "List the models in the models folder" } },
    );
}
