import type { Database, SQLQueryBindings } from "bun:sqlite";

/** OpenAI's cursor list options: `after` and `before` are ids of the list's objects. */
export interface CursorOptions {
  after?: string;
  before?: string;
  limit: number;
  order: "asc" | "desc";
}

/** Where a list's rows live: a table with an increasing `seq`, the column holding the ids cursors name, and the condition keeping the list to its rows. */
export interface ListSource {
  table: string;
  idColumn: string;
  where: string;
  params: SQLQueryBindings[];
  /** the increasing column that orders the list, when it is not `seq` */
  seqColumn?: string;
}

/**
 * A page of rows in creation order (`order`), after the row `after` or before the row `before`;
 * undefined when a cursor names no row of the list. Keyset pagination on `seq`: a page costs the
 * same however deep into the list it starts. Table and column names are the stores' own constants.
 */
export function keysetPage<Row>(db: Database, source: ListSource, options: CursorOptions): { rows: Row[]; hasMore: boolean } | undefined {
  const { table, idColumn, where, params, seqColumn = "seq" } = source;
  const seqOf = (id: string) => db.query<{ seq: number }, SQLQueryBindings[]>(`SELECT ${seqColumn} AS seq FROM ${table} WHERE ${idColumn} = ? AND ${where}`).get(id, ...params)?.seq;
  const asc = options.order === "asc";
  const bounds: string[] = [];
  const values: SQLQueryBindings[] = [];
  for (const [cursor, forward] of [[options.after, true], [options.before, false]] as const) {
    if (cursor === undefined) continue;
    const seq = seqOf(cursor);
    if (seq === undefined) return undefined;
    bounds.push(`${seqColumn} ${forward === asc ? ">" : "<"} ?`);
    values.push(seq);
  }
  // `before` alone pages backwards: the rows nearest the cursor, put back in the list's order.
  const backwards = options.before !== undefined && options.after === undefined;
  const direction = asc !== backwards ? "ASC" : "DESC";
  const rows = db
    .query<Row, SQLQueryBindings[]>(`SELECT * FROM ${table} WHERE ${[where, ...bounds].join(" AND ")} ORDER BY ${seqColumn} ${direction} LIMIT ?`)
    .all(...params, ...values, options.limit + 1);
  const page = rows.slice(0, options.limit);
  return { rows: backwards ? page.reverse() : page, hasMore: rows.length > options.limit };
}
