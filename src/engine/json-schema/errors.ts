/**
 * Why a schema cannot become a grammar. `path` is relative to the schema's root (".properties.a.uniqueItems");
 * the caller prefixes the request field the schema came from.
 *
 * - "invalid": the schema itself is malformed (a type that is not a JSON type, a pattern that is not a regex, a dangling $ref).
 * - "unenforceable": a valid schema asking for something the grammar cannot guarantee (uniqueItems, lookahead, a circular $ref).
 */
export class SchemaError extends Error {
  constructor(
    readonly kind: "invalid" | "unenforceable",
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (path: string, message: string) => new SchemaError("invalid", path, message);
export const unenforceable = (path: string, message: string) => new SchemaError("unenforceable", path, message);

/** `.key` for object members, `[i]` for array items, as the error paths read. */
export function childPath(path: string, key: string | number): string {
  return typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`;
}
