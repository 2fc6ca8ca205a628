/** A JSON schema with every kind of constraint a grammar must enforce: types, required, bounds, no extras. */
export const PERSON_SCHEMA = {
  type: "object",
  properties: { name: { type: "string" }, age: { type: "integer" }, tags: { type: "array", items: { type: "string" }, maxItems: 3 } },
  required: ["name", "age", "tags"],
  additionalProperties: false,
};
