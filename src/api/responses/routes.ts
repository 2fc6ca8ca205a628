import type { Database } from "bun:sqlite";
import { Elysia } from "elysia";
import { ownerOf, principalOf } from "../../auth/principal.ts";
import type { Engine } from "../../engine/engine.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { collectResponse, DEFAULT_FILE_SEARCH_RESULTS, responseEvents, Sequence, type FileSearchRun } from "./events.ts";
import { responsesSse } from "./sse.ts";
import { CreateResponseRequest, InputTokens, ResponseObject, type CreateResponseRequestT } from "./schemas.ts";
import { ResponseState } from "./state.ts";
import { storedResponsesRoutes } from "./stored.ts";
import { FILE_SEARCH_RESULTS, fileSearchTool, toGenerationRequest } from "./translate.ts";
import type { GenerationRequest } from "../../engine/types.ts";
import { parseFilter } from "../../rag/filters.ts";
import type { Library } from "../../rag/library.ts";
import { lastUserText, retrieve, withRetrievedContext } from "../../rag/retrieval.ts";

const errors = { 400: OpenAIError, 404: OpenAIError, 503: OpenAIError, 507: OpenAIError };

/**
 * OpenAI's Responses API: a response continues a stored one or a conversation, or comes whole in
 * its input; finished, it is kept in `db` (unless store is false) for the routes that read it back.
 */
export function responsesRoutes(engine: Engine, db: Database, library: Library) {
  const state = new ResponseState(db);
  /** The file_search tool, run before generation: the chunks go to the model, the run to the output. */
  const searched = async (body: CreateResponseRequestT, request: Request, generation: GenerationRequest): Promise<{ generation: GenerationRequest; run?: FileSearchRun }> => {
    const tool = fileSearchTool(body);
    if (!tool) return { generation };
    const index = body.tools!.indexOf(tool);
    const params = {
      vectorStoreIds: tool.vector_store_ids,
      maxNumResults: tool.max_num_results ?? DEFAULT_FILE_SEARCH_RESULTS,
      scoreThreshold: tool.ranking_options?.score_threshold,
      filters: tool.filters == null ? undefined : parseFilter(tool.filters, `tools[${index}].filters`),
    };
    const query = lastUserText(generation.messages);
    const chunks = await retrieve(library, engine, principalOf(request), params, query, { field: `tools[${index}]`, signal: request.signal });
    const run = { query, chunks, includeResults: body.include?.includes(FILE_SEARCH_RESULTS) ?? false };
    return { generation: { ...generation, messages: withRetrievedContext(generation.messages, chunks) }, run };
  };
  return new Elysia({ ...ROUTE_CONFIG, name: "responses", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/v1/responses",
      async ({ body, request }: { body: CreateResponseRequestT; request: Request }) => {
        const { history, keep } = state.begin(body, ownerOf(principalOf(request)));
        const { generation, run } = await searched(body, request, toGenerationRequest(body, request.signal, history));
        const { events, modelName } = await engine.start(generation);
        if (body.stream) {
          const sequence = new Sequence();
          // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
          return responsesSse(responseEvents(events, body, modelName, sequence, keep, run), sequence) as never;
        }
        return collectResponse(events, body, modelName, keep, run);
      },
      {
        // The app reads every body as JSON whatever its content type; "json" says so in the OpenAPI document.
        parse: "json",
        body: CreateResponseRequest,
        response: { 200: ResponseObject, ...errors },
        detail: {
          summary: "Create a model response (Responses API)",
          description:
            "OpenAI's Responses API. The history before `input` is a stored response's (`previous_response_id`) or a conversation's (`conversation`), or none: then `input` holds the whole conversation. " +
            "The finished response is stored unless `store` is false (a conversation's gets its input and output items in the same write); one whose client went away before it finished is not. " +
            "With `stream: true` the answer is a `text/event-stream` of named events, each with an increasing `sequence_number`: response.created, response.in_progress, " +
            "response.output_item.added, response.content_part.added, response.reasoning_text.delta/.done, response.output_text.delta/.done, " +
            "response.function_call_arguments.delta/.done, response.content_part.done, response.output_item.done, then response.completed or response.incomplete " +
            "(an `error` event if generation fails midway). Function tools are offered to the model; a file_search tool is run by Hearth before generating (a file_search_call output item, " +
            "with its in_progress/searching/completed events, and the chunks found given to the model as context); other hosted and custom tools (web_search, local_shell, custom, mcp…) are skipped.",
        },
      },
    )
    .post(
      "/v1/responses/input_tokens",
      async ({ body, request }: { body: CreateResponseRequestT; request: Request }) => {
        const { history } = state.begin(body, ownerOf(principalOf(request)));
        const { generation } = await searched(body, request, toGenerationRequest(body, request.signal, history));
        const { promptTokens } = await engine.countTokens(generation);
        return { object: "response.input_tokens" as const, input_tokens: promptTokens };
      },
      {
        parse: "json",
        body: CreateResponseRequest,
        response: { 200: InputTokens, ...errors },
        detail: {
          summary: "Count a response request's input tokens",
          description:
            "The prompt tokens a `POST /v1/responses` with the same body would have (its `usage.input_tokens`): the history and input rendered with the model's chat template, instructions and tools. Nothing is generated or stored; the model is loaded if it is not.",
        },
      },
    )
    .use(storedResponsesRoutes(state));
}
