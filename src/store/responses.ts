import type { Database } from "bun:sqlite";
import { migrate } from "./database.ts";
import { itemPage, type PageOptions } from "./item-pages.ts";

const SCHEMA = {
  name: "responses",
  migrations: [
    `CREATE TABLE responses (
       id TEXT PRIMARY KEY,
       owner TEXT NOT NULL,
       response TEXT NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE TABLE response_input_items (
       response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
       position INTEGER NOT NULL,
       id TEXT NOT NULL,
       item TEXT NOT NULL,
       PRIMARY KEY (response_id, position),
       UNIQUE (response_id, id)
     );`,
  ],
};

/** A Responses API object as stored: the Response itself, or one of its items. The API layer owns their shapes. */
export type StoredResponse = { id: string; created_at: number } & Record<string, unknown>;
export type StoredItem = { id: string; type: string } & Record<string, unknown>;

export interface InputItemPage {
  items: StoredItem[];
  hasMore: boolean;
}

/**
 * Responses kept for later (`store`), each with the input items it was generated from, belonging
 * to an owner (see `ownerOf`): every read and write names the owner, and another owner's response
 * is answered as missing. A response and its items are written in one transaction.
 */
export class ResponseStore {
  constructor(private readonly db: Database) {
    migrate(db, SCHEMA);
  }

  save(owner: string, response: StoredResponse, inputItems: StoredItem[]): void {
    this.db.transaction(() => {
      this.db.query("INSERT INTO responses (id, owner, response, created_at) VALUES (?, ?, ?, ?)").run(response.id, owner, JSON.stringify(response), response.created_at);
      const insert = this.db.query("INSERT INTO response_input_items (response_id, position, id, item) VALUES (?, ?, ?, ?)");
      inputItems.forEach((item, position) => insert.run(response.id, position, item.id, JSON.stringify(item)));
    }).immediate();
  }

  get(owner: string, id: string): StoredResponse | undefined {
    const row = this.db.query<{ response: string }, [string, string]>("SELECT response FROM responses WHERE id = ? AND owner = ?").get(id, owner);
    return row ? JSON.parse(row.response) : undefined;
  }

  /** Deletes a response and its input items; false when the owner has no such response. */
  delete(owner: string, id: string): boolean {
    return this.db.query("DELETE FROM responses WHERE id = ? AND owner = ?").run(id, owner).changes > 0;
  }

  /** Every input item, in the order the model read them; undefined when the owner has no such response. */
  inputItems(owner: string, id: string): StoredItem[] | undefined {
    if (!this.get(owner, id)) return undefined;
    return this.db.query<{ item: string }, [string]>("SELECT item FROM response_input_items WHERE response_id = ? ORDER BY position").all(id).map((row) => JSON.parse(row.item));
  }

  /** A page of input items after the item `after` (exclusive), in `order`; undefined when the owner has no such response or item. */
  listInputItems(owner: string, id: string, options: PageOptions): InputItemPage | undefined {
    if (!this.get(owner, id)) return undefined;
    return itemPage<StoredItem>(this.db, { table: "response_input_items", parent: "response_id", order: "position" }, id, options);
  }
}
