import type { Database } from "bun:sqlite";

/** Where a list of JSON items lives: its table, the column naming what they belong to, and the column ordering them. */
export interface ItemTable {
  table: string;
  parent: string;
  order: string;
}

export interface PageOptions {
  /** an item id: the page starts after it (exclusive) */
  after?: string;
  limit: number;
  order: "asc" | "desc";
}

/**
 * A page of one parent's items (a conversation's, a response's input), in `order`; undefined when
 * `after` is not among them. Keyset pagination on the ordering column: a page costs the same however
 * deep into the list it starts. The table and column names are the stores' own constants.
 */
export function itemPage<Item>(db: Database, source: ItemTable, parentId: string, options: PageOptions): { items: Item[]; hasMore: boolean } | undefined {
  const { table, parent, order } = source;
  const asc = options.order === "asc";
  let from = asc ? -1 : Number.MAX_SAFE_INTEGER;
  if (options.after !== undefined) {
    const row = db.query<{ at: number }, [string, string]>(`SELECT ${order} AS at FROM ${table} WHERE ${parent} = ? AND id = ?`).get(parentId, options.after);
    if (!row) return undefined;
    from = row.at;
  }
  const rows = db
    .query<{ item: string }, [string, number, number]>(`SELECT item FROM ${table} WHERE ${parent} = ? AND ${order} ${asc ? ">" : "<"} ? ORDER BY ${order} ${asc ? "ASC" : "DESC"} LIMIT ?`)
    .all(parentId, from, options.limit + 1);
  return { items: rows.slice(0, options.limit).map((row) => JSON.parse(row.item) as Item), hasMore: rows.length > options.limit };
}
