import { sameJson, type SchemaObject } from "./merge.ts";

const ALL_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"];

/**
 * Whether no JSON value can satisfy both schemas, as far as can be shown simply: different types,
 * disjoint enum/const values, or objects that a required property with disjoint schemas (a const
 * "kind" discriminator, say) or additionalProperties: false tells apart. oneOf is generated as
 * anyOf only when its branches are pairwise disjoint: then a value generated from one branch fails
 * every other, as oneOf requires.
 *
 * `resolve` inlines a top-level $ref (undefined when it cannot be inlined).
 */
export function provablyDisjoint(a: unknown, b: unknown, resolve: (schema: unknown) => unknown): boolean {
  a = resolve(a);
  b = resolve(b);
  if (a === false || b === false) return true;
  if (!isObject(a) || !isObject(b)) return false;
  const typesA = possibleTypes(a);
  const typesB = possibleTypes(b);
  if (!typesA.some((t) => typesB.some((u) => overlap(t, u)))) return true;
  const valuesA = literals(a);
  const valuesB = literals(b);
  if (valuesA && valuesB && !valuesA.some((v) => valuesB.some((w) => sameJson(v, w)))) return true;
  if (typesA.every((t) => t === "object") && typesB.every((t) => t === "object")) {
    const propsA = (a.properties as SchemaObject | undefined) ?? {};
    const propsB = (b.properties as SchemaObject | undefined) ?? {};
    const requiredA = (a.required as string[] | undefined) ?? [];
    const requiredB = (b.required as string[] | undefined) ?? [];
    if (requiredA.some((name) => requiredB.includes(name) && provablyDisjoint(propsA[name] ?? true, propsB[name] ?? true, resolve))) return true;
    if (a.additionalProperties === false && requiredB.some((name) => !Object.hasOwn(propsA, name))) return true;
    if (b.additionalProperties === false && requiredA.some((name) => !Object.hasOwn(propsB, name))) return true;
  }
  return false;
}

function isObject(value: unknown): value is SchemaObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function literals(schema: SchemaObject): unknown[] | undefined {
  return "const" in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : undefined;
}

/** The types a value valid against the schema may have (all of them when nothing says). */
function possibleTypes(schema: SchemaObject): string[] {
  const values = literals(schema);
  if (values) return [...new Set(values.map(jsonType))];
  if (schema.type !== undefined) return [schema.type].flat() as string[];
  return ALL_TYPES;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** integer values are numbers too */
function overlap(t: string, u: string): boolean {
  return t === u || (t === "integer" && u === "number") || (t === "number" && u === "integer");
}
