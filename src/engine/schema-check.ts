import { InvalidRequestError } from "./types.ts";

const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);
/** Keywords whose values are data, not schemas: a "type" key inside them is not a type. */
const DATA_KEYWORDS = new Set(["const", "enum", "default", "examples", "example"]);

/**
 * Refuses a JSON schema with a `type` that is not a JSON type. node-llama-cpp builds a grammar
 * from such a schema without complaint (the type becomes "anything") and fails only when it
 * validates what the model generated, mid-answer; checked up front it is the client's 400.
 */
export function checkSchemaTypes(schema: unknown, param: string, path = ""): void {
  if (Array.isArray(schema)) {
    schema.forEach((item, i) => checkSchemaTypes(item, param, `${path}[${i}]`));
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  for (const [key, value] of Object.entries(schema)) {
    if (DATA_KEYWORDS.has(key)) continue;
    const types = key === "type" && (typeof value === "string" || Array.isArray(value)) ? [value].flat() : [];
    const unknown = types.find((type) => typeof type !== "string" || !JSON_TYPES.has(type));
    if (unknown !== undefined) {
      throw new InvalidRequestError(`${param}${path}.type: ${JSON.stringify(unknown)} is not a JSON schema type (use ${[...JSON_TYPES].join(", ")})`, param);
    }
    checkSchemaTypes(value, param, `${path}.${key}`);
  }
}
