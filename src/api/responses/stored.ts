import { Elysia } from "elysia";
import { ownerOf, principalOf } from "../../auth/principal.ts";
import { InvalidRequestError, ObjectNotFoundError } from "../../errors.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { DeletedResponse, InputItemsQuery, ResponseIdParams, ResponseItemList, ResponseObject, RetrieveResponseQuery, type ItemResourceT, type ResponseObjectT } from "./schemas.ts";
import type { ResponseState } from "./state.ts";

const errors = { 400: OpenAIError, 404: OpenAIError };

/** Stored responses read back, listed and deleted: only the owner's, anyone else's answered as missing. */
export function storedResponsesRoutes(state: ResponseState) {
  const { responses } = state;
  return new Elysia({ ...ROUTE_CONFIG, name: "stored-responses", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .get(
      "/v1/responses/:response_id",
      ({ params, query, request }) => {
        if (query.stream) throw new InvalidRequestError("stream is not supported: a stored response's events are not kept to replay. Retrieve it without stream.", "stream");
        const response = responses.get(ownerOf(principalOf(request)), params.response_id);
        if (!response) throw state.notFound(params.response_id);
        return response as ResponseObjectT;
      },
      {
        params: ResponseIdParams,
        query: RetrieveResponseQuery,
        response: { 200: ResponseObject, ...errors },
        detail: { summary: "Get a stored response", description: "The Response object as it was answered, for a response created with `store` (the default). `stream=true` is a 400." },
      },
    )
    .delete(
      "/v1/responses/:response_id",
      ({ params, request }) => {
        if (!responses.delete(ownerOf(principalOf(request)), params.response_id)) throw state.notFound(params.response_id);
        return { id: params.response_id, object: "response" as const, deleted: true as const };
      },
      {
        params: ResponseIdParams,
        response: { 200: DeletedResponse, 404: OpenAIError },
        detail: {
          summary: "Delete a stored response",
          description: "Deletes the response and its input items. Responses that continued it keep their own copy of its items; a conversation keeps the items it was given.",
        },
      },
    )
    .get(
      "/v1/responses/:response_id/input_items",
      ({ params, query, request }) => {
        const limit = query.limit ?? 20;
        if (limit < 1 || limit > 100) throw new InvalidRequestError(`Invalid value for 'limit': expected an integer from 1 to 100, got ${limit}.`, "limit", "invalid_value");
        const owner = ownerOf(principalOf(request));
        const page = responses.listInputItems(owner, params.response_id, { after: query.after, limit, order: query.order ?? "desc" });
        if (!page) {
          if (!responses.get(owner, params.response_id)) throw state.notFound(params.response_id);
          throw new ObjectNotFoundError(`No input item with id '${query.after}' in response '${params.response_id}'.`, "after");
        }
        const items = page.items as ItemResourceT[];
        return { object: "list" as const, data: items, first_id: items[0]?.id ?? null, last_id: items.at(-1)?.id ?? null, has_more: page.hasMore };
      },
      {
        params: ResponseIdParams,
        query: InputItemsQuery,
        response: { 200: ResponseItemList, ...errors },
        detail: {
          summary: "List a stored response's input items",
          description:
            "Every item the model read, each with its id: the previous response's (its whole chain) or the conversation's, then the request's own input (a string input is one user message). Pages by `after` (an item id) and `limit` (1-100, default 20), in `order` (default desc: newest first).",
        },
      },
    );
}
