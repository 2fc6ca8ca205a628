import { InvalidRequestError } from "../../errors.ts";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** A list endpoint's `limit`: 1 to 100, default 20, as OpenAI's. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) throw new InvalidRequestError(`limit must be between 1 and ${MAX_LIMIT}; it is ${limit}`, "limit", "invalid_value");
  return limit;
}

/** OpenAI's cursor list. first_id and last_id are null for an empty page: no id names nothing. */
export function listOf<T extends { id: string }>(data: T[], hasMore: boolean) {
  return { object: "list" as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}
