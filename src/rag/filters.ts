import { InvalidRequestError } from "../errors.ts";
import type { Attributes } from "../store/vector-stores.ts";

/** OpenAI's ComparisonFilter: an attribute compared with a value. */
export interface ComparisonFilter {
  type: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "nin";
  key: string;
  value: string | number | boolean | Array<string | number>;
}

/** OpenAI's CompoundFilter: filters combined, to any depth. */
export interface CompoundFilter {
  type: "and" | "or";
  filters: Filter[];
}

export type Filter = ComparisonFilter | CompoundFilter;

const COMPARISONS = new Set(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]);
const COMPOUNDS = new Set(["and", "or"]);

/**
 * A filter as sent, checked to any depth (the request schema describes the first levels only);
 * a 400 names the part at fault, as `filters.filters[1].value`.
 */
export function parseFilter(value: unknown, param = "filters"): Filter {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidRequestError(`${param} must be a comparison or compound filter object`, param);
  const filter = value as Record<string, unknown>;
  const type = filter.type;
  if (typeof type === "string" && COMPOUNDS.has(type)) {
    if (!Array.isArray(filter.filters)) throw new InvalidRequestError(`${param}.filters must be an array of filters`, `${param}.filters`);
    return { type: type as CompoundFilter["type"], filters: filter.filters.map((inner, i) => parseFilter(inner, `${param}.filters[${i}]`)) };
  }
  if (typeof type !== "string" || !COMPARISONS.has(type)) {
    throw new InvalidRequestError(`${param}.type must be one of ${[...COMPARISONS, ...COMPOUNDS].join(", ")}`, `${param}.type`);
  }
  if (typeof filter.key !== "string") throw new InvalidRequestError(`${param}.key must be a string`, `${param}.key`);
  const operand = filter.value;
  const scalar = (x: unknown) => typeof x === "string" || (typeof x === "number" && Number.isFinite(x)) || typeof x === "boolean";
  if (type === "in" || type === "nin") {
    if (!Array.isArray(operand) || !operand.every((x) => typeof x === "string" || (typeof x === "number" && Number.isFinite(x)))) {
      throw new InvalidRequestError(`${param}.value must be an array of strings and numbers for "${type}"`, `${param}.value`);
    }
  } else if (!scalar(operand)) {
    throw new InvalidRequestError(`${param}.value must be a string, a number or a boolean for "${type}"`, `${param}.value`);
  }
  return { type: type as ComparisonFilter["type"], key: filter.key, value: operand as ComparisonFilter["value"] };
}

/**
 * Whether a file's attributes pass the filter. An attribute the file lacks is equal to nothing:
 * eq, gt… and in fail on it, ne and nin pass. Order comparisons need a number on both sides or a
 * string on both (ISO dates compare as strings).
 */
export function matches(filter: Filter, attributes: Attributes): boolean {
  switch (filter.type) {
    case "and":
      return filter.filters.every((inner) => matches(inner, attributes));
    case "or":
      return filter.filters.some((inner) => matches(inner, attributes));
    default:
      return compare(filter, attributes[filter.key]);
  }
}

function compare(filter: ComparisonFilter, actual: string | number | boolean | undefined): boolean {
  const expected = filter.value;
  switch (filter.type) {
    case "eq":
      return actual === expected;
    case "ne":
      return actual !== expected;
    case "in":
      return actual !== undefined && (expected as unknown[]).includes(actual);
    case "nin":
      return actual === undefined || !(expected as unknown[]).includes(actual);
    default: {
      const comparable = (typeof actual === "number" && typeof expected === "number") || (typeof actual === "string" && typeof expected === "string");
      if (!comparable) return false;
      const a = actual as number | string;
      const b = expected as number | string;
      return filter.type === "gt" ? a > b : filter.type === "gte" ? a >= b : filter.type === "lt" ? a < b : a <= b;
    }
  }
}
