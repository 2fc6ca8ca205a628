import type { Database } from "bun:sqlite";
import { migrate } from "./database.ts";

const SCHEMA = {
  name: "chat_completions",
  migrations: [
    `CREATE TABLE chat_completions (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       owner TEXT NOT NULL,
       model TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       metadata TEXT NOT NULL DEFAULT '{}',
       completion TEXT NOT NULL,
       messages TEXT NOT NULL
     );
     CREATE INDEX chat_completions_by_owner ON chat_completions (owner, seq);`,
  ],
};

/** What a stored completion must name of itself: the rest of it is kept as it was answered. */
export interface CompletionIdentity {
  id: string;
  model: string;
  /** Unix seconds */
  created: number;
}

export interface StoredCompletion<Completion, Message> {
  completion: Completion;
  /** the request's messages, as sent */
  messages: Message[];
  metadata: Record<string, string>;
}

export interface CompletionFilter {
  /** a completion id: the page starts after it (exclusive), in `order` */
  after?: string;
  limit: number;
  order: "asc" | "desc";
  model?: string;
  /** every pair must be in a completion's metadata */
  metadata?: Record<string, string>;
}

export interface CompletionPage<Completion, Message> {
  completions: Array<StoredCompletion<Completion, Message>>;
  hasMore: boolean;
}

interface Row {
  completion: string;
  messages: string;
  metadata: string;
}

/**
 * OpenAI's stored chat completions (`store: true`): the answer, the messages that asked for it and
 * the request's metadata, each belonging to an owner (see `ownerOf`); another owner's is answered
 * as missing. The store keeps the answer as JSON and reads only its identity, so the API decides
 * its shape.
 */
export class ChatCompletions<Completion extends CompletionIdentity, Message> {
  constructor(private readonly db: Database) {
    migrate(db, SCHEMA);
  }

  /** Callers that write other objects with it (conversation items) wrap both in one transaction. */
  save(owner: string, stored: StoredCompletion<Completion, Message>): void {
    const { completion, messages, metadata } = stored;
    this.db
      .query("INSERT INTO chat_completions (id, owner, model, created_at, metadata, completion, messages) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(completion.id, owner, completion.model, completion.created, JSON.stringify(metadata), JSON.stringify(completion), JSON.stringify(messages));
  }

  get(owner: string, id: string): StoredCompletion<Completion, Message> | undefined {
    const row = this.db.query<Row, [string, string]>("SELECT completion, messages, metadata FROM chat_completions WHERE id = ? AND owner = ?").get(id, owner);
    return row ? parsed(row) : undefined;
  }

  /** A page of the owner's completions, oldest first with order asc; undefined when `after` is none of the owner's. */
  list(owner: string, filter: CompletionFilter): CompletionPage<Completion, Message> | undefined {
    const asc = filter.order === "asc";
    let from = asc ? -1 : Number.MAX_SAFE_INTEGER;
    if (filter.after !== undefined) {
      const row = this.db.query<{ seq: number }, [string, string]>("SELECT seq FROM chat_completions WHERE id = ? AND owner = ?").get(filter.after, owner);
      if (!row) return undefined;
      from = row.seq;
    }
    const conditions = ["owner = ?", `seq ${asc ? ">" : "<"} ?`];
    const values: Array<string | number> = [owner, from];
    if (filter.model !== undefined) {
      conditions.push("model = ?");
      values.push(filter.model);
    }
    // json_each matches a key exactly, whatever characters it holds (a JSON path would need quoting).
    for (const [key, value] of Object.entries(filter.metadata ?? {})) {
      conditions.push("EXISTS (SELECT 1 FROM json_each(chat_completions.metadata) AS pair WHERE pair.key = ? AND pair.value = ?)");
      values.push(key, value);
    }
    values.push(filter.limit + 1);
    const rows = this.db
      .query<Row, Array<string | number>>(`SELECT completion, messages, metadata FROM chat_completions WHERE ${conditions.join(" AND ")} ORDER BY seq ${asc ? "ASC" : "DESC"} LIMIT ?`)
      .all(...values);
    return { completions: rows.slice(0, filter.limit).map((row) => parsed<Completion, Message>(row)), hasMore: rows.length > filter.limit };
  }

  /** Replaces the metadata; undefined when the owner has no such completion. */
  updateMetadata(owner: string, id: string, metadata: Record<string, string>): StoredCompletion<Completion, Message> | undefined {
    const changed = this.db.query("UPDATE chat_completions SET metadata = ? WHERE id = ? AND owner = ?").run(JSON.stringify(metadata), id, owner).changes;
    return changed > 0 ? this.get(owner, id) : undefined;
  }

  /** False when the owner has no such completion. */
  delete(owner: string, id: string): boolean {
    return this.db.query("DELETE FROM chat_completions WHERE id = ? AND owner = ?").run(id, owner).changes > 0;
  }
}

function parsed<Completion, Message>(row: Row): StoredCompletion<Completion, Message> {
  return { completion: JSON.parse(row.completion), messages: JSON.parse(row.messages), metadata: JSON.parse(row.metadata) };
}
