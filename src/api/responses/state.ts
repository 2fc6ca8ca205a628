import type { Database } from "bun:sqlite";
import { Value } from "@sinclair/typebox/value";
import { InvalidRequestError, ObjectNotFoundError } from "../../errors.ts";
import { Conversations, type ConversationItem } from "../../store/conversations.ts";
import { ResponseStore, type StoredItem } from "../../store/responses.ts";
import type { OnFinished } from "./events.ts";
import { refuseDuplicateIds, toStoredItems } from "./items.ts";
import { InputItem, type CreateResponseRequestT, type InputItemT, type ResponseObjectT } from "./schemas.ts";
import { conversationId, type History } from "./translate.ts";

/** A request's place among what is stored: the history it continues, and how its answer is kept. */
export interface Turn {
  history?: History;
  /** undefined when nothing is to be kept (store: false) */
  keep?: OnFinished;
}

/**
 * The Responses API's state: stored responses, and the conversations a response may belong to.
 * A finished response, its input items and the items it adds to its conversation are written in
 * one transaction, so a crash leaves all of them or none.
 */
export class ResponseState {
  readonly responses: ResponseStore;
  private readonly conversations: Conversations;

  constructor(db: Database) {
    this.responses = new ResponseStore(db);
    this.conversations = new Conversations(db);
  }

  /** Where a request stands: a response or a conversation it names that the owner has none of is a 404. */
  begin(body: CreateResponseRequestT, owner: string): Turn {
    const history = this.history(body, owner);
    refuseDuplicateIds(history?.items ?? [], body.input);
    return { history, keep: body.store === false ? undefined : (response) => this.keep(body, owner, history, response) };
  }

  notFound(id: string): ObjectNotFoundError {
    return new ObjectNotFoundError(`Response with id '${id}' not found.`, "response_id");
  }

  private history(body: CreateResponseRequestT, owner: string): History | undefined {
    const previousId = body.previous_response_id ?? undefined;
    const conversation = conversationId(body);
    if (previousId !== undefined && conversation !== undefined) {
      throw new InvalidRequestError("previous_response_id and conversation cannot be used together: a response continues one or the other.", "conversation");
    }
    if (previousId !== undefined) {
      const previous = this.responses.get(owner, previousId);
      if (!previous) throw new ObjectNotFoundError(`Previous response with id '${previousId}' not found.`, "previous_response_id");
      // Its input items hold its own history already, so the whole chain comes with them.
      const items = [...(this.responses.inputItems(owner, previousId) ?? []), ...(previous.output as StoredItem[])];
      return { param: "previous_response_id", items: items as unknown as InputItemT[] };
    }
    if (conversation !== undefined) {
      const items = this.conversations.history(owner, conversation);
      if (!items) throw new ObjectNotFoundError(`Conversation with id '${conversation}' not found.`, "conversation");
      return { param: "conversation", items: items.map(readable) };
    }
    return undefined;
  }

  /**
   * Stores the response with every item it was generated from (its history, then its input), so
   * that continuing it needs nothing else; a conversation gets the request's input and the output.
   */
  private keep(body: CreateResponseRequestT, owner: string, history: History | undefined, response: ResponseObjectT): void {
    const input = toStoredItems(body.input);
    const conversation = conversationId(body);
    this.conversations.transaction(() => {
      this.responses.save(owner, response, [...toStoredItems(history?.items), ...input]);
      if (conversation !== undefined) this.append(owner, conversation, [...input, ...response.output]);
    });
  }

  private append(owner: string, conversation: string, items: StoredItem[]): void {
    try {
      if (!this.conversations.append(owner, conversation, items)) throw new ObjectNotFoundError(`Conversation with id '${conversation}' not found.`, "conversation");
    } catch (err) {
      // Item ids are unique across conversations: one the client reused from another conversation.
      if ((err as { code?: unknown }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new InvalidRequestError("An input item's id is already used by another conversation's item: send the item without its id.", "input");
      }
      throw err;
    }
  }
}

/** A conversation's item, if the Responses API can read it (items added through /v1/conversations may be of any type). */
function readable(item: ConversationItem): InputItemT {
  if (!Value.Check(InputItem, item)) {
    throw new InvalidRequestError(`The conversation's item ${item.id} (of type ${item.type}) cannot be read: only messages, function calls, their outputs and reasoning can.`, "conversation");
  }
  return item;
}
