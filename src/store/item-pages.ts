import type { Database } from "bun:sqlite";
import { keysetPage, type CursorOptions } from "./keyset-page.ts";

/** Where a list of JSON items lives: its table, the column naming what they belong to, and the column ordering them. */
export interface ItemTable {
  table: string;
  parent: string;
  order: string;
}

export type PageOptions = Omit<CursorOptions, "before">;

/** A page of one parent's items (a conversation's, a response's input), parsed; undefined when `after` is not among them. */
export function itemPage<Item>(db: Database, source: ItemTable, parentId: string, options: PageOptions): { items: Item[]; hasMore: boolean } | undefined {
  const page = keysetPage<{ item: string }>(db, { table: source.table, idColumn: "id", where: `${source.parent} = ?`, params: [parentId], seqColumn: source.order }, options);
  return page && { items: page.rows.map((row) => JSON.parse(row.item) as Item), hasMore: page.hasMore };
}
