import { childPath, invalid, unenforceable } from "./errors.ts";
import { formatPattern, numericFormat, SUPPORTED_FORMATS } from "./formats.ts";
import type { SchemaObject } from "./merge.ts";

const JSON_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"];

/** Keywords that constrain values and are enforced; any other keyword is an annotation, except those in REFUSED. */
const ENFORCED = new Set([
  "type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf",
  "properties", "required", "additionalProperties", "minProperties", "maxProperties",
  "items", "prefixItems", "additionalItems", "minItems", "maxItems",
  "minLength", "maxLength", "pattern", "format",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
]);

/** Constraints a grammar cannot express; each is refused (400) unless its value makes it a no-op. */
const REFUSED: Record<string, (value: unknown) => boolean> = {
  not: () => true,
  if: () => true,
  then: () => true,
  else: () => true,
  uniqueItems: (v) => v === true,
  contains: () => true,
  minContains: () => true,
  maxContains: () => true,
  patternProperties: (v) => typeof v !== "object" || v === null || Object.keys(v).length > 0,
  propertyNames: (v) => v !== true,
  dependentSchemas: (v) => typeof v !== "object" || v === null || Object.keys(v).length > 0,
  dependentRequired: (v) => typeof v !== "object" || v === null || Object.keys(v).length > 0,
  dependencies: (v) => typeof v !== "object" || v === null || Object.keys(v).length > 0,
  unevaluatedProperties: (v) => v !== true,
  unevaluatedItems: (v) => v !== true,
  $dynamicRef: () => true,
  $recursiveRef: () => true,
};

/** Refuses a keyword the grammar cannot enforce, or a keyword whose value is malformed. */
export function checkKeywords(s: SchemaObject, path: string): void {
  for (const [key, value] of Object.entries(s)) {
    const at = childPath(path, key);
    if (Object.hasOwn(REFUSED, key) && REFUSED[key]!(value)) throw unenforceable(at, `${key} cannot be enforced by a grammar`);
    checkShape(key, value, at);
  }
}

/** Whether the schema constrains anything besides the given keyword (descriptions and other annotations do not). */
export function hasAssertions(s: SchemaObject, except?: string): boolean {
  return Object.keys(s).some((key) => key !== except && ENFORCED.has(key));
}

/** Without "type", the types the keywords speak of (each keyword only constrains its own type), or undefined for any value. */
export function inferredTypes(s: SchemaObject): string[] | undefined {
  const has = (...keys: string[]) => keys.some((k) => s[k] !== undefined);
  const types = [
    ...(has("properties", "required", "additionalProperties", "minProperties", "maxProperties") ? ["object"] : []),
    ...(has("items", "prefixItems", "additionalItems", "minItems", "maxItems") ? ["array"] : []),
    ...(has("minLength", "maxLength", "pattern") || (typeof s.format === "string" && formatPattern(s.format) !== undefined) ? ["string"] : []),
    ...(has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf") || (typeof s.format === "string" && numericFormat(s.format) !== undefined) ? ["number"] : []),
  ];
  return types.length ? types : undefined;
}

const NON_NEGATIVE_INTEGER = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];

/** Malformed keyword values are the client's error, named by path. */
function checkShape(key: string, value: unknown, path: string): void {
  const fail = (expected: string) => {
    throw invalid(path, `${key} must be ${expected}`);
  };
  const isSchema = (v: unknown) => typeof v === "boolean" || (typeof v === "object" && v !== null && !Array.isArray(v));
  const isMap = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  switch (key) {
    case "type": {
      const types = typeof value === "string" || Array.isArray(value) ? [value].flat() : [value];
      const unknown = types.find((t) => typeof t !== "string" || !JSON_TYPES.includes(t));
      if (unknown !== undefined || types.length === 0) throw invalid(path, `${JSON.stringify(unknown ?? value)} is not a JSON schema type (use ${JSON_TYPES.join(", ")})`);
      return;
    }
    case "properties":
      if (!isMap(value) || !Object.values(value as object).every(isSchema)) fail("an object of schemas");
      return;
    case "required":
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) fail("an array of strings");
      return;
    case "enum":
      if (!Array.isArray(value)) fail("an array");
      return;
    case "allOf":
    case "anyOf":
    case "oneOf":
      if (!Array.isArray(value) || value.length === 0 || !value.every(isSchema)) fail("a non-empty array of schemas");
      return;
    case "prefixItems":
      if (!Array.isArray(value) || !value.every(isSchema)) fail("an array of schemas");
      return;
    case "items":
      if (!isSchema(value) && !(Array.isArray(value) && value.every(isSchema))) fail("a schema or an array of schemas");
      return;
    case "additionalProperties":
    case "additionalItems":
      if (!isSchema(value)) fail("a schema");
      return;
    case "minimum":
    case "maximum":
      if (typeof value !== "number") fail("a number");
      return;
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      if (typeof value !== "number" && typeof value !== "boolean") fail("a number");
      return;
    case "multipleOf":
      if (typeof value !== "number" || !(value > 0)) fail("a number greater than 0");
      return;
    case "pattern":
      if (typeof value !== "string") fail("a string");
      return;
    case "format":
      if (typeof value !== "string") fail("a string");
      if (!SUPPORTED_FORMATS.includes(value as string)) throw unenforceable(path, `the format ${JSON.stringify(value)} cannot be enforced (supported: ${SUPPORTED_FORMATS.join(", ")})`);
      return;
    case "$ref":
      if (typeof value !== "string") fail("a string");
      return;
    default:
      if (NON_NEGATIVE_INTEGER.includes(key) && !(Number.isInteger(value) && (value as number) >= 0)) fail("a non-negative integer");
  }
}
