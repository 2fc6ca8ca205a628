import { childPath, unenforceable } from "./errors.ts";

export type SchemaObject = Record<string, unknown>;

/** A schema taking part in an allOf, its $ref and nested allOf already resolved. */
export interface Member {
  schema: unknown;
  path: string;
}

export interface Branches {
  keyword: "anyOf" | "oneOf";
  branches: unknown[];
  path: string;
}

export interface Merged {
  /** one schema with every member's constraints, or false when they contradict */
  base: SchemaObject | false;
  /** each member's anyOf / oneOf: a value also matches one branch of each */
  groups: Branches[];
}

const LARGEST = ["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"];
const SMALLEST = ["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"];
const EQUAL = ["pattern", "format"];

/**
 * Merges allOf members into one schema: types intersect, bounds tighten, properties and items
 * combine (a property in several members must satisfy each of their schemas), and a member's
 * additionalProperties applies to the properties the others declare — as a validator checks them.
 */
export function mergeMembers(members: Member[]): Merged {
  const groups: Branches[] = [];
  const objects = members.filter((m) => m.schema !== true);
  if (objects.some((m) => m.schema === false)) return { base: false, groups };
  const base: SchemaObject = {};
  let types: Set<string> | undefined;
  let literals: unknown[] | undefined;
  const required = new Set<string>();
  for (const { schema, path } of objects as Array<{ schema: SchemaObject; path: string }>) {
    const s = withNumericExclusives(schema);
    if (s.type !== undefined) types = types ? intersectTypes(types, new Set([s.type].flat() as string[])) : new Set([s.type].flat() as string[]);
    for (const values of [s.enum, "const" in s ? [s.const] : undefined]) {
      if (Array.isArray(values)) literals = literals ? literals.filter((v) => values.some((w) => sameJson(v, w))) : values;
    }
    for (const name of (s.required as string[] | undefined) ?? []) required.add(name);
    for (const key of LARGEST) if (typeof s[key] === "number") base[key] = Math.max(s[key] as number, (base[key] as number | undefined) ?? -Infinity);
    for (const key of SMALLEST) if (typeof s[key] === "number") base[key] = Math.min(s[key] as number, (base[key] as number | undefined) ?? Infinity);
    for (const key of EQUAL) {
      if (s[key] === undefined) continue;
      if (base[key] !== undefined && base[key] !== s[key]) throw unenforceable(childPath(path, key), `allOf combines two different ${key}s, which cannot be enforced together`);
      base[key] = s[key];
    }
    if (typeof s.multipleOf === "number") base.multipleOf = commonMultiple((base.multipleOf as number | undefined) ?? s.multipleOf, s.multipleOf, childPath(path, "multipleOf"));
    for (const keyword of ["anyOf", "oneOf"] as const) {
      if (Array.isArray(s[keyword])) groups.push({ keyword, branches: s[keyword] as unknown[], path: childPath(path, keyword) });
    }
  }
  if (types) {
    if (types.size === 0) return { base: false, groups };
    base.type = [...types];
  }
  if (literals) base.enum = literals;
  if (required.size) base.required = [...required];
  Object.assign(base, mergeObjects(objects as Array<{ schema: SchemaObject; path: string }>, required), mergeArrays(objects.map((m) => m.schema as SchemaObject)));
  return { base, groups };
}

function mergeObjects(members: Array<{ schema: SchemaObject; path: string }>, required: Set<string>): SchemaObject {
  const declared = new Set(members.flatMap((m) => Object.keys((m.schema.properties as SchemaObject | undefined) ?? {})));
  for (const name of required) declared.add(name);
  const properties = new Map<string, unknown[]>([...declared].map((name) => [name, []]));
  for (const { schema: m, path } of members) {
    const own = (m.properties as SchemaObject | undefined) ?? {};
    for (const name of declared) {
      if (Object.hasOwn(own, name)) properties.get(name)!.push(own[name]);
      else if (m.additionalProperties === false && required.has(name)) {
        throw unenforceable(childPath(path, "additionalProperties"), `"${name}" is required, but additionalProperties: false here forbids it (it allows only the properties declared beside it, even within an allOf)`);
      } else if (m.additionalProperties !== undefined && m.additionalProperties !== true) properties.get(name)!.push(m.additionalProperties);
    }
  }
  const out: SchemaObject = {};
  if (declared.size) out.properties = Object.fromEntries([...properties].map(([name, schemas]) => [name, allOf(schemas) ?? true]));
  const additional = members.flatMap(({ schema: m }) => (m.additionalProperties === undefined ? [] : [m.additionalProperties]));
  if (additional.length) out.additionalProperties = allOf(additional) ?? true;
  return out;
}

function mergeArrays(members: SchemaObject[]): SchemaObject {
  // each member as (prefix items, the schema of the items after them), whichever draft it is written in
  const shapes = members.map((m) => ({
    prefix: (m.prefixItems as unknown[] | undefined) ?? (Array.isArray(m.items) ? m.items : []),
    rest: Array.isArray(m.items) ? m.additionalItems : m.items,
  }));
  const length = Math.max(0, ...shapes.map((s) => s.prefix.length));
  const out: SchemaObject = {};
  if (length) out.prefixItems = Array.from({ length }, (_, i) => allOf(shapes.map((s) => s.prefix[i] ?? s.rest)) ?? true);
  if (shapes.some((s) => s.rest !== undefined)) out.items = allOf(shapes.map((s) => s.rest)) ?? true;
  return out;
}

/** One schema requiring all of these (undefined when none constrains). */
function allOf(schemas: unknown[]): unknown {
  const constraining = schemas.filter((s) => s !== undefined && s !== true);
  if (constraining.includes(false)) return false;
  return constraining.length <= 1 ? constraining[0] : { allOf: constraining };
}

/** Draft 4's boolean exclusiveMinimum / exclusiveMaximum, written as the numeric form later drafts use. */
export function withNumericExclusives(schema: SchemaObject): SchemaObject {
  const s = { ...schema };
  for (const [exclusive, inclusive] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]] as const) {
    if (typeof s[exclusive] !== "boolean") continue;
    if (s[exclusive] && typeof s[inclusive] === "number") {
      s[exclusive] = s[inclusive];
      delete s[inclusive];
    } else delete s[exclusive];
  }
  return s;
}

function intersectTypes(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const t of a) {
    if (b.has(t)) out.add(t);
    else if ((t === "integer" && b.has("number")) || (t === "number" && b.has("integer"))) out.add("integer");
  }
  return out;
}

function commonMultiple(a: number, b: number, path: string): number {
  if (a === b) return a;
  if (!Number.isInteger(a) || !Number.isInteger(b)) throw unenforceable(path, "allOf combines different fractional multipleOf values, which cannot be enforced");
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

/** JSON equality: the same value whatever the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((k) => Object.hasOwn(b, k) && sameJson((a as SchemaObject)[k], (b as SchemaObject)[k]));
}
