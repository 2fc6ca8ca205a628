import type { Database } from "bun:sqlite";
import { Elysia, t } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { ModelInfo } from "../../models/catalog.ts";
import { mayUseModel, ownerOf, principalOf } from "../../auth/principal.ts";
import { ChatStore } from "../conversations/chat.ts";
import { noteChatId } from "../../observability/chat-id.ts";
import type { Library } from "../../rag/library.ts";
import { withRetrievedContext } from "../../rag/retrieval.ts";
import { ragContext, retrievalFor } from "../rag-params.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { completionsRoutes } from "./completions.ts";
import { embeddingsRoutes } from "./embeddings.ts";
import { callStyleOf } from "./legacy-functions.ts";
import { toOpenAIErrorResponse } from "./errors.ts";
import { ChatCompletion, ChatCompletionRequest, Model, ModelList, OpenAIError, type ChatCompletionRequestT, type ModelT } from "./schemas.ts";
import { collectCompletion, streamChunks, toGenerationRequest } from "./translate.ts";
import { sseResponse } from "./sse.ts";
import { storedCompletionsRoutes } from "./stored-completions.ts";

/**
 * The stream, and once it has ended normally, what its chunks added up to for `keep`: a client
 * that goes away returns the stream early, and nothing after the last chunk runs.
 */
async function* keptOnceWhole<T, R>(chunks: AsyncGenerator<T, R>, keep: (whole: R) => void): AsyncGenerator<T> {
  keep(yield* chunks);
}

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

/**
 * `db`: where chat completions keep what they are asked to (`store`) and read their `conversation`
 * from; `library`: the vector stores `rag_params` searches.
 */
export function openaiRoutes(engine: Engine, db: Database, library: Library) {
  const store = new ChatStore(db);
  const chat = async ({ body, request, set }: { body: ChatCompletionRequestT; request: Request; set: { headers: Record<string, string | number> } }) => {
    const generation = toGenerationRequest(body, request.signal);
    if (body.chat_id) noteChatId(request, body.chat_id);
    const turn = store.begin(body, ownerOf(principalOf(request)));
    const retrieved = await retrievalFor(library, engine, request, body.rag_params, generation.messages);
    const continued = turn.withHistory(generation);
    const { events, modelName } = await engine.start(retrieved ? { ...continued, messages: withRetrievedContext(continued.messages, retrieved) } : continued);
    const calls = callStyleOf(body);
    const extras = retrieved ? { ...turn.extras, rag_context: ragContext(retrieved) } : turn.extras;
    if (turn.conversationId !== undefined) set.headers["x-conversation-id"] = turn.conversationId;
    if (body.stream) {
      const chunks = streamChunks(events, modelName, body.stream_options?.include_usage === true, calls, extras);
      // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
      return sseResponse(keptOnceWhole(chunks, (completion) => turn.keep(completion, request.signal))) as never;
    }
    const completion = await collectCompletion(events, modelName, calls, extras);
    turn.keep(completion, request.signal);
    return completion;
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
        description:
          "OpenAI-compatible. With `stream: true` the answer is a `text/event-stream` of chat.completion.chunk objects ending in `data: [DONE]`. " +
          "`store: true` keeps the answer (GET /v1/chat/completions/{completion_id}); `conversation` continues a conversation of /v1/conversations, and with `store` appends the turn to it.",
      },
    })
    .post("/v1/chat", chat, { ...chatSchema, detail: { summary: "Create a chat completion (alias of /v1/chat/completions)" } })
    .get("/v1/models", async ({ request }) => ({ object: "list" as const, data: (await engine.catalog.list()).filter((m) => mayUseModel(principalOf(request), m.name)).map(modelObject) }), {
      response: { 200: ModelList },
      detail: { summary: "List the models in the models folder" },
    })
    .get("/v1/models/:model", async ({ params }) => modelObject(await engine.catalog.get(params.model)), {
      params: t.Object({ model: t.String({ description: "A model name; names with a folder part are URL-encoded" }) }),
      response: { 200: Model, 404: OpenAIError },
      detail: { summary: "Describe one model" },
    })
    .use(storedCompletionsRoutes(store.completions))
    .use(completionsRoutes(engine))
    .use(embeddingsRoutes(engine));
}
