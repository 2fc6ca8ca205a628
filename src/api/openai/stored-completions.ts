import { Elysia, t } from "elysia";
import { ownerOf, principalOf } from "../../auth/principal.ts";
import { ObjectNotFoundError } from "../../errors.ts";
import type { StoredCompletion } from "../../store/chat-completions.ts";
import type { StoredChatCompletions } from "../conversations/chat.ts";
import { checkMetadata, Metadata } from "../conversations/metadata.ts";
import { listOf, pageLimit } from "../conversations/pages.ts";
import { Limit } from "../conversations/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { toOpenAIErrorResponse } from "./errors.ts";
import {
  ChatCompletionDeleted,
  ChatCompletionList,
  ChatCompletionMessageList,
  OpenAIError,
  StoredChatCompletion,
  type ChatCompletionT,
  type ChatMessage,
  type StoredChatCompletionT,
  type StoredChatMessageT,
} from "./schemas.ts";

const Params = t.Object({ completion_id: t.String() });
const Order = t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")], { description: "default asc: oldest first" }));
const errors = { 400: OpenAIError, 404: OpenAIError };

function completionObject(stored: StoredCompletion<ChatCompletionT, ChatMessage>): StoredChatCompletionT {
  return { ...stored.completion, metadata: stored.metadata };
}

function notFound(id: string, param = "completion_id"): ObjectNotFoundError {
  return new ObjectNotFoundError(`Chat completion with id '${id}' not found.`, param);
}

/** `metadata[key]=value` query pairs, as OpenAI's SDKs send a metadata filter. */
function metadataFilter(url: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const [key, value] of new URL(url).searchParams) {
    const name = /^metadata\[(.+)\]$/.exec(key)?.[1];
    if (name !== undefined) pairs[name] = value;
  }
  return pairs;
}

/** A request message as OpenAI lists a stored completion's messages. */
function messageObject(message: ChatMessage, index: number, completionId: string): StoredChatMessageT {
  const parts = typeof message.content === "string" || message.content == null ? null : message.content.flatMap((part) => (part.type === "text" ? [part] : []));
  return {
    id: `${completionId}-${index}`,
    role: message.role,
    content: parts ? parts.map((part) => part.text).join("\n") : (message.content as string | null),
    refusal: null,
    ...("name" in message && message.name !== undefined && { name: message.name }),
    ...(message.role === "assistant" && message.tool_calls && { tool_calls: message.tool_calls }),
    ...(message.role === "assistant" && message.function_call && { function_call: message.function_call }),
    ...(message.role === "tool" && { tool_call_id: message.tool_call_id }),
    content_parts: parts,
  };
}

/** OpenAI's stored chat completions (`store: true` on a chat completion), each the requesting owner's alone. */
export function storedCompletionsRoutes(completions: StoredChatCompletions) {
  const ownerIn = (request: Request) => ownerOf(principalOf(request));
  const existing = (request: Request, id: string) => {
    const stored = completions.get(ownerIn(request), id);
    if (!stored) throw notFound(id);
    return stored;
  };
  return new Elysia({ ...ROUTE_CONFIG, name: "stored-chat-completions", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .get(
      "/v1/chat/completions",
      ({ query, request }) => {
        const filter = { after: query.after, limit: pageLimit(query.limit), order: query.order ?? "asc", model: query.model, metadata: metadataFilter(request.url) };
        const page = completions.list(ownerIn(request), filter);
        if (!page) throw notFound(query.after!, "after");
        return listOf(page.completions.map(completionObject), page.hasMore);
      },
      {
        query: t.Object({
          after: t.Optional(t.String({ description: "A completion id: the page starts after it" })),
          limit: Limit,
          order: Order,
          model: t.Optional(t.String({ description: "Only completions by this model" })),
        }),
        response: { 200: ChatCompletionList, ...errors },
        detail: {
          summary: "List stored chat completions",
          description: "The completions created with `store: true`, oldest first unless `order` is desc. `metadata[key]=value` query parameters keep only completions with those pairs.",
        },
      },
    )
    .get("/v1/chat/completions/:completion_id", ({ params, request }) => completionObject(existing(request, params.completion_id)), {
      params: Params,
      response: { 200: StoredChatCompletion, ...errors },
      detail: { summary: "Retrieve a stored chat completion" },
    })
    .post(
      "/v1/chat/completions/:completion_id",
      ({ params, body, request }) => {
        const updated = completions.updateMetadata(ownerIn(request), params.completion_id, checkMetadata(body.metadata));
        if (!updated) throw notFound(params.completion_id);
        return completionObject(updated);
      },
      {
        parse: "json",
        params: Params,
        body: t.Object({ metadata: t.Nullable(Metadata, { description: "Replaces the metadata; null clears it" }) }),
        response: { 200: StoredChatCompletion, ...errors },
        detail: { summary: "Update a stored chat completion's metadata" },
      },
    )
    .delete(
      "/v1/chat/completions/:completion_id",
      ({ params, request }) => {
        if (!completions.delete(ownerIn(request), params.completion_id)) throw notFound(params.completion_id);
        return { object: "chat.completion.deleted" as const, id: params.completion_id, deleted: true as const };
      },
      { params: Params, response: { 200: ChatCompletionDeleted, ...errors }, detail: { summary: "Delete a stored chat completion" } },
    )
    .get(
      "/v1/chat/completions/:completion_id/messages",
      ({ params, query, request }) => {
        const stored = existing(request, params.completion_id);
        const all = stored.messages.map((message, index) => messageObject(message, index, params.completion_id));
        const ordered = query.order === "desc" ? all.reverse() : all;
        let start = 0;
        if (query.after !== undefined) {
          start = ordered.findIndex((message) => message.id === query.after) + 1;
          if (start === 0) throw new ObjectNotFoundError(`Message with id '${query.after}' not found.`, "after");
        }
        const limit = pageLimit(query.limit);
        return listOf(ordered.slice(start, start + limit), start + limit < ordered.length);
      },
      {
        params: Params,
        query: t.Object({ after: t.Optional(t.String({ description: "A message id: the page starts after it" })), limit: Limit, order: Order }),
        response: { 200: ChatCompletionMessageList, ...errors },
        detail: { summary: "List a stored chat completion's messages", description: "The request's messages, ids `{completion_id}-{index}`." },
      },
    );
}
