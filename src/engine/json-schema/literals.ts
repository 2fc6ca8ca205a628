import { childPath, unenforceable } from "./errors.ts";
import { formatPattern, numericFormat } from "./formats.ts";
import { withNumericExclusives, type SchemaObject } from "./merge.ts";

/** Keywords about objects and arrays, which enum / const values are not checked against. */
const STRUCTURAL = ["properties", "required", "additionalProperties", "minProperties", "maxProperties", "items", "prefixItems", "additionalItems", "minItems", "maxItems"];

/**
 * Whether an enum / const value also satisfies the keywords beside it (type, lengths, pattern,
 * format, bounds, multipleOf): only those that do are generated. Formats are checked against the
 * grammar's own (stricter) definitions, so a value is kept only if the grammar could have produced it.
 */
export function checkLiteral(value: unknown, schema: SchemaObject, path: string): boolean {
  const s = withNumericExclusives(schema);
  if (s.type !== undefined && !([s.type].flat() as string[]).some((t) => hasType(value, t))) return false;
  if (typeof value === "object" && value !== null) {
    const keyword = STRUCTURAL.find((k) => s[k] !== undefined);
    if (keyword) throw unenforceable(childPath(path, keyword), `${keyword} cannot be combined with an enum or const of objects or arrays; list only valid values`);
    return true;
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (length < ((s.minLength as number | undefined) ?? 0) || length > ((s.maxLength as number | undefined) ?? Infinity)) return false;
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) return false;
    const format = typeof s.format === "string" ? formatPattern(s.format) : undefined;
    return format === undefined || new RegExp(`^(?:${format})$`, "u").test(value);
  }
  if (typeof value === "number") {
    const format = typeof s.format === "string" ? numericFormat(s.format) : undefined;
    const checks = [
      typeof s.minimum !== "number" || value >= s.minimum,
      typeof s.maximum !== "number" || value <= s.maximum,
      typeof s.exclusiveMinimum !== "number" || value > s.exclusiveMinimum,
      typeof s.exclusiveMaximum !== "number" || value < s.exclusiveMaximum,
      typeof s.multipleOf !== "number" || Number.isInteger(value / s.multipleOf),
      !format?.integer || Number.isInteger(value),
      format?.minimum === undefined || (value >= format.minimum && value <= format.maximum!),
    ];
    return checks.every(Boolean);
  }
  return true;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}
