import type { Database } from "bun:sqlite";
import { Elysia } from "elysia";
import { ownerOf, principalOf } from "../../auth/principal.ts";
import { ObjectNotFoundError } from "../../errors.ts";
import { Conversations, type Conversation as StoredConversation } from "../../store/conversations.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { conversationNotFound } from "./chat.ts";
import { checkMetadata } from "./metadata.ts";
import { listOf, pageLimit } from "./pages.ts";
import {
  Conversation,
  ConversationItem,
  ConversationItemList,
  ConversationParams,
  CreateConversationBody,
  CreateItemsBody,
  DeletedConversation,
  IncludeQuery,
  ItemParams,
  ListItemsQuery,
  UpdateConversationBody,
  type ConversationT,
  type InputItemT,
} from "./schemas.ts";
import { storedItem } from "./translate.ts";

function conversationObject(conversation: StoredConversation): ConversationT {
  return { id: conversation.id, object: "conversation", created_at: conversation.createdAt, metadata: conversation.metadata };
}

function itemNotFound(id: string, param = "item_id"): ObjectNotFoundError {
  return new ObjectNotFoundError(`Item with id '${id}' not found.`, param);
}

const storedItems = (items: InputItemT[]) => items.map((item, index) => storedItem(item, `items[${index}]`));

const errors = { 400: OpenAIError, 404: OpenAIError };

/**
 * OpenAI's Conversations API: conversations and their items, each the requesting owner's alone
 * (another owner's are answered as missing). Chat completions (`conversation`, `store`) and the
 * Responses API read and append to the same conversations.
 */
export function conversationsRoutes(db: Database) {
  const conversations = new Conversations(db);
  const ownerIn = (request: Request) => ownerOf(principalOf(request));
  const existing = (owner: string, id: string): StoredConversation => {
    const conversation = conversations.get(owner, id);
    if (!conversation) throw conversationNotFound(id, "conversation_id");
    return conversation;
  };
  return new Elysia({ ...ROUTE_CONFIG, name: "conversations", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/v1/conversations",
      ({ body, request }) => {
        const metadata = checkMetadata(body.metadata);
        return conversationObject(conversations.create(ownerIn(request), metadata, storedItems(body.items ?? [])).conversation);
      },
      {
        parse: "json",
        body: CreateConversationBody,
        response: { 200: Conversation, ...errors },
        detail: { summary: "Create a conversation", description: "With up to 20 initial items and metadata; the conversation and its items are written together." },
      },
    )
    .get("/v1/conversations/:conversation_id", ({ params, request }) => conversationObject(existing(ownerIn(request), params.conversation_id)), {
      params: ConversationParams,
      response: { 200: Conversation, ...errors },
      detail: { summary: "Retrieve a conversation" },
    })
    .post(
      "/v1/conversations/:conversation_id",
      ({ params, body, request }) => {
        const metadata = checkMetadata(body.metadata);
        const updated = conversations.updateMetadata(ownerIn(request), params.conversation_id, metadata);
        if (!updated) throw conversationNotFound(params.conversation_id, "conversation_id");
        return conversationObject(updated);
      },
      {
        parse: "json",
        params: ConversationParams,
        body: UpdateConversationBody,
        response: { 200: Conversation, ...errors },
        detail: { summary: "Update a conversation's metadata" },
      },
    )
    .delete(
      "/v1/conversations/:conversation_id",
      ({ params, request }) => {
        if (!conversations.delete(ownerIn(request), params.conversation_id)) throw conversationNotFound(params.conversation_id, "conversation_id");
        return { id: params.conversation_id, object: "conversation.deleted" as const, deleted: true as const };
      },
      {
        params: ConversationParams,
        response: { 200: DeletedConversation, ...errors },
        detail: { summary: "Delete a conversation", description: "Its items go with it." },
      },
    )
    .get(
      "/v1/conversations/:conversation_id/items",
      ({ params, query, request }) => {
        const owner = ownerIn(request);
        existing(owner, params.conversation_id);
        const page = conversations.listItems(owner, params.conversation_id, { after: query.after, limit: pageLimit(query.limit), order: query.order ?? "desc" });
        if (!page) throw itemNotFound(query.after!, "after");
        return listOf(page.items, page.hasMore);
      },
      {
        params: ConversationParams,
        query: ListItemsQuery,
        response: { 200: ConversationItemList, ...errors },
        detail: { summary: "List a conversation's items", description: "Newest first unless `order` is asc; `after` is an item id, the page starting after it." },
      },
    )
    .post(
      "/v1/conversations/:conversation_id/items",
      ({ params, body, request }) => {
        const items = conversations.append(ownerIn(request), params.conversation_id, storedItems(body.items));
        if (!items) throw conversationNotFound(params.conversation_id, "conversation_id");
        return listOf(items, false);
      },
      {
        parse: "json",
        params: ConversationParams,
        query: IncludeQuery,
        body: CreateItemsBody,
        response: { 200: ConversationItemList, ...errors },
        detail: { summary: "Add items to a conversation", description: "Up to 20 at a time, appended in order in one transaction; answered with the items as stored." },
      },
    )
    .get(
      "/v1/conversations/:conversation_id/items/:item_id",
      ({ params, request }) => {
        const owner = ownerIn(request);
        existing(owner, params.conversation_id);
        const item = conversations.getItem(owner, params.conversation_id, params.item_id);
        if (!item) throw itemNotFound(params.item_id);
        return item;
      },
      {
        params: ItemParams,
        query: IncludeQuery,
        response: { 200: ConversationItem, ...errors },
        detail: { summary: "Retrieve a conversation's item" },
      },
    )
    .delete(
      "/v1/conversations/:conversation_id/items/:item_id",
      ({ params, request }) => {
        const owner = ownerIn(request);
        const conversation = existing(owner, params.conversation_id);
        if (!conversations.deleteItem(owner, params.conversation_id, params.item_id)) throw itemNotFound(params.item_id);
        return conversationObject(conversation);
      },
      {
        params: ItemParams,
        response: { 200: Conversation, ...errors },
        detail: { summary: "Delete a conversation's item", description: "Answered with the conversation, as OpenAI does." },
      },
    );
}
