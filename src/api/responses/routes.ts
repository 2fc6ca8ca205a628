import type { Database } from "bun:sqlite";
import { Elysia } from "elysia";
import { ownerOf, principalOf } from "../../auth/principal.ts";
import type { Engine } from "../../engine/engine.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { collectResponse, responseEvents, Sequence } from "./events.ts";
import { responsesSse } from "./sse.ts";
import { CreateResponseRequest, InputTokens, ResponseObject, type CreateResponseRequestT } from "./schemas.ts";
import { ResponseState } from "./state.ts";
import { storedResponsesRoutes } from "./stored.ts";
import { toGenerationRequest } from "./translate.ts";

const errors = { 400: OpenAIError, 404: OpenAIError, 503: OpenAIError, 507: OpenAIError };

/**
 * OpenAI's Responses API: a response continues a stored one or a conversation, or comes whole in
 * its input; finished, it is kept in `db` (unless store is false) for the routes that read it back.
 */
export function responsesRoutes(engine: Engine, db: Database) {
  const state = new ResponseState(db);
  return new Elysia({ ...ROUTE_CONFIG, name: "responses", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/v1/responses",
      async ({ body, request }: { body: CreateResponseRequestT; request: Request }) => {
        const { history, keep } = state.begin(body, ownerOf(principalOf(request)));
        const { events, modelName } = await engine.start(toGenerationRequest(body, request.signal, history));
        if (body.stream) {
          const sequence = new Sequence();
          // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
          return responsesSse(responseEvents(events, body, modelName, sequence, keep), sequence) as never;
        }
        return collectResponse(events, body, modelName, keep);
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
            "(an `error` event if generation fails midway). Function tools are offered to the model; hosted and custom tools (web_search, local_shell, custom, mcp…) are skipped.",
        },
      },
    )
    .post(
      "/v1/responses/input_tokens",
      async ({ body, request }: { body: CreateResponseRequestT; request: Request }) => {
        const { history } = state.begin(body, ownerOf(principalOf(request)));
        const { promptTokens } = await engine.countTokens(toGenerationRequest(body, request.signal, history));
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
