import type { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { migrate } from "./database.ts";
import { itemPage, type PageOptions } from "./item-pages.ts";

const SCHEMA = {
  name: "conversations",
  migrations: [
    `CREATE TABLE conversations (
       id TEXT PRIMARY KEY,
       owner TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       metadata TEXT NOT NULL DEFAULT '{}'
     );
     CREATE TABLE conversation_items (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
       item TEXT NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE INDEX conversation_items_in_order ON conversation_items (conversation_id, seq);`,
  ],
};

/**
 * An item of a conversation in OpenAI's Conversations API shape (a `message` with content parts,
 * a `function_call`, a `function_call_output`, a `reasoning`…): `type` and `id` at least. Every
 * API that reads or writes conversations (chat completions' `conversation`, the Responses API,
 * /v1/conversations) translates to and from this one shape.
 */
export type ConversationItem = { id: string; type: string } & Record<string, unknown>;
/** An item before it is stored: the store gives it an id when it has none. */
export type NewConversationItem = { type: string; id?: string } & Record<string, unknown>;

export interface Conversation {
  id: string;
  /** Unix seconds, as OpenAI's `created_at` */
  createdAt: number;
  metadata: Record<string, string>;
}

export interface ItemPage {
  items: ConversationItem[];
  hasMore: boolean;
}

/** Id prefixes as OpenAI's: msg_ for messages, fc_ for function calls, rs_ for reasoning… */
const ID_PREFIX: Record<string, string> = { message: "msg", function_call: "fc", function_call_output: "fco", reasoning: "rs" };

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

/**
 * Conversations and their items, each belonging to an owner (see `ownerOf`): every read and write
 * names the owner, and another owner's conversation is answered as missing. Writes are single
 * transactions: a conversation and its first items appear together or not at all.
 */
export class Conversations {
  constructor(private readonly db: Database) {
    migrate(db, SCHEMA);
  }

  /**
   * `id`: one chosen beforehand, for a conversation named to the client before it is written (a
   * streamed chat completion names it in its first chunk, and creates it once the answer is whole).
   */
  create(owner: string, metadata: Record<string, string>, items: NewConversationItem[] = [], id = newId("conv")): { conversation: Conversation; items: ConversationItem[] } {
    return this.db.transaction(() => {
      const conversation: Conversation = { id, createdAt: nowSeconds(), metadata };
      this.db.query("INSERT INTO conversations (id, owner, created_at, metadata) VALUES (?, ?, ?, ?)").run(conversation.id, owner, conversation.createdAt, JSON.stringify(metadata));
      return { conversation, items: this.insertItems(conversation.id, items) };
    }).immediate();
  }

  get(owner: string, id: string): Conversation | undefined {
    const row = this.db.query<{ id: string; created_at: number; metadata: string }, [string, string]>("SELECT id, created_at, metadata FROM conversations WHERE id = ? AND owner = ?").get(id, owner);
    return row ? { id: row.id, createdAt: row.created_at, metadata: JSON.parse(row.metadata) } : undefined;
  }

  /** Replaces the metadata; undefined when the owner has no such conversation. */
  updateMetadata(owner: string, id: string, metadata: Record<string, string>): Conversation | undefined {
    const changed = this.db.query("UPDATE conversations SET metadata = ? WHERE id = ? AND owner = ?").run(JSON.stringify(metadata), id, owner).changes;
    return changed > 0 ? this.get(owner, id) : undefined;
  }

  /** Deletes a conversation and its items; false when the owner has no such conversation. */
  delete(owner: string, id: string): boolean {
    return this.db.query("DELETE FROM conversations WHERE id = ? AND owner = ?").run(id, owner).changes > 0;
  }

  /**
   * Appends items in one transaction, in order; undefined when the owner has no such conversation.
   * Callers that write other objects with them (a stored response) wrap both in `transaction`.
   */
  append(owner: string, id: string, items: NewConversationItem[]): ConversationItem[] | undefined {
    return this.db.transaction(() => (this.get(owner, id) ? this.insertItems(id, items) : undefined)).immediate();
  }

  /** Every item, oldest first: the history a request continues. */
  history(owner: string, id: string): ConversationItem[] | undefined {
    if (!this.get(owner, id)) return undefined;
    return this.db.query<{ item: string }, [string]>("SELECT item FROM conversation_items WHERE conversation_id = ? ORDER BY seq").all(id).map((row) => JSON.parse(row.item));
  }

  /** A page of items after the item `after` (exclusive), in `order`; undefined when the owner has no such conversation or item. */
  listItems(owner: string, id: string, options: PageOptions): ItemPage | undefined {
    if (!this.get(owner, id)) return undefined;
    return itemPage<ConversationItem>(this.db, { table: "conversation_items", parent: "conversation_id", order: "seq" }, id, options);
  }

  getItem(owner: string, id: string, itemId: string): ConversationItem | undefined {
    if (!this.get(owner, id)) return undefined;
    const row = this.db.query<{ item: string }, [string, string]>("SELECT item FROM conversation_items WHERE id = ? AND conversation_id = ?").get(itemId, id);
    return row ? JSON.parse(row.item) : undefined;
  }

  deleteItem(owner: string, id: string, itemId: string): boolean {
    if (!this.get(owner, id)) return false;
    return this.db.query("DELETE FROM conversation_items WHERE id = ? AND conversation_id = ?").run(itemId, id).changes > 0;
  }

  /** Runs `write` as one transaction: what it writes here and elsewhere in the store lands together or not at all. */
  transaction<T>(write: () => T): T {
    return this.db.transaction(write).immediate();
  }

  private insertItems(conversationId: string, items: NewConversationItem[]): ConversationItem[] {
    const insert = this.db.query("INSERT INTO conversation_items (id, conversation_id, item, created_at) VALUES (?, ?, ?, ?)");
    return items.map((item) => {
      const stored = { ...item, id: item.id ?? newId(ID_PREFIX[item.type] ?? "item") } as ConversationItem;
      insert.run(stored.id, conversationId, JSON.stringify(stored), nowSeconds());
      return stored;
    });
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
