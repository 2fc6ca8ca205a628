/**
 * The fields of a request body as its OpenAPI schema declares them, with the kinds of JSON value
 * each accepts, so that every field can be sent every kind it does not accept.
 */

export type Kind = "string" | "integer" | "number" | "boolean" | "null" | "array" | "object";
export type Path = Array<string | number>;

export interface Field {
  path: Path;
  /** undefined: any value (a schema without a type, such as free-form metadata) */
  kinds?: Set<Kind>;
  /** the field's strings are numbers (Elysia's integer-as-string), so other strings are wrong */
  numericStrings: boolean;
  /** when every string the field accepts is a constant: those constants (other strings are wrong) */
  constStrings?: string[];
  /**
   * For a field inside only some variants of a union of objects (an assistant message's
   * tool_calls, and what is inside them): the object that picks the variant (`at`, the message)
   * and its discriminating values ({role: "assistant"}), since another variant would ignore the
   * field as an unknown one.
   */
  variant?: { at: Path; values: Record<string, unknown> };
}

interface Schema {
  type?: string | string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  items?: Schema;
  nullable?: boolean;
  const?: unknown;
  enum?: unknown[];
  format?: string;
}

/** Every field down to `maxDepth` levels, array items as index 0; a field met in several variants has their kinds together. */
export function fieldsOf(schema: Schema, maxDepth = 4): Field[] {
  const fields = new Map<string, Field>();
  const visit = (node: Schema, path: Path, inherited: Field["variant"]) => {
    if (path.length > maxDepth) return;
    if (path.length > 0) merge(fields, path, node).variant ??= inherited;
    const objects = variants(node).filter((variant) => variant.properties);
    for (const variant of variants(node)) {
      for (const [key, child] of Object.entries(variant.properties ?? {})) {
        const partial = objects.some((other) => !Object.hasOwn(other.properties!, key));
        visit(child, [...path, key], inherited ?? (partial ? { at: path, values: discriminators(variant) } : undefined));
      }
      if (variant.items) visit(variant.items, [...path, 0], inherited);
    }
  };
  visit(schema, [], undefined);
  return [...fields.values()];
}

/** A variant's properties that hold a single constant: what tells it from its siblings. */
function discriminators(variant: Schema): Record<string, unknown> {
  const constants = Object.entries(variant.properties ?? {}).flatMap(([key, prop]) => {
    const value = prop.const ?? (prop.enum?.length === 1 ? prop.enum[0] : undefined);
    return value === undefined ? [] : [[key, value] as const];
  });
  return Object.fromEntries(constants);
}

function variants(node: Schema): Schema[] {
  return [node, ...(node.anyOf ?? []).flatMap(variants), ...(node.oneOf ?? []).flatMap(variants)];
}

function merge(fields: Map<string, Field>, path: Path, node: Schema): Field {
  const key = JSON.stringify(path);
  const field = fields.get(key) ?? { path, kinds: new Set<Kind>(), numericStrings: true, constStrings: [] };
  fields.set(key, field);
  let typed = false;
  for (const variant of variants(node)) {
    if (variant.nullable) field.kinds?.add("null");
    const types = variant.type === undefined ? [] : Array.isArray(variant.type) ? variant.type : [variant.type];
    for (const type of types) {
      typed = true;
      if (type !== "string") {
        field.kinds?.add(type as Kind);
        continue;
      }
      field.kinds?.add("string");
      if (variant.format !== "integer" && variant.format !== "numeric") field.numericStrings = false;
      const constants = variant.const !== undefined ? [variant.const] : variant.enum;
      if (constants && field.constStrings) field.constStrings.push(...constants.map(String));
      else if (variant.format !== "integer" && variant.format !== "numeric") field.constStrings = undefined;
    }
  }
  // A schema with no type anywhere takes any value.
  if (!typed) field.kinds = undefined;
  if (!field.kinds?.has("string")) field.numericStrings = false;
  return field;
}

/** The kind of a JSON value, as the schema would see it. */
export function kindOf(value: unknown): Kind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value as Kind;
}

/**
 * Whether the field's schema could take a value of this kind (ranges and formats aside). `text`
 * is the string when there is one to look at; a string of unknown content is taken only by a
 * field that takes any string.
 */
export function acceptsKind(field: Field, kind: Kind, text?: string): boolean {
  if (!field.kinds) return true;
  if (kind === "integer") return field.kinds.has("integer") || field.kinds.has("number");
  if (kind !== "string") return field.kinds.has(kind);
  if (!field.kinds.has("string")) return false;
  const anyString = !field.numericStrings && (field.constStrings === undefined || field.constStrings.length === 0);
  if (text === undefined) return anyString;
  // Whether a numeric string must be an integer, and how it is read, is the route's business; text that is no number at all is wrong.
  if (field.numericStrings) return text.trim() !== "" && Number.isFinite(Number(text));
  return anyString || field.constStrings!.includes(text);
}
