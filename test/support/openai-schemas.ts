/**
 * Validates responses against OpenAI's official schemas, vendored in test/fixtures/openai-schemas.json
 * by `npm run openai-schemas`.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { OpenAiSchemas, RootSchema } from "../../scripts/openai-schemas.ts";
import vendored from "../fixtures/openai-schemas.json";

export const schemas = vendored as unknown as OpenAiSchemas;

/**
 * The spec says `openapi: 3.1.0` (JSON Schema 2020-12) but still carries some OpenAPI 3.0 `nullable: true`,
 * which 2020-12 ignores. They mean "or null", e.g. `finish_reason` of every chunk but the last, and the
 * spec's own chunk example sends `"finish_reason": null` although that enum lists no null; so each one
 * becomes the 3.1 spelling the rest of the spec uses: `anyOf: [<the schema>, {type: "null"}]`.
 */
function convertNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convertNullable);
  if (!node || typeof node !== "object") return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  // `properties` maps names to schemas: a property called `nullable` is not the keyword.
  const converted = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, key === "properties" ? mapValues(value, convertNullable) : convertNullable(value)]));
  return nullable === true ? { anyOf: [converted, { type: "null" }] } : converted;
}

const mapValues = (object: unknown, fn: (value: unknown) => unknown) =>
  Object.fromEntries(Object.entries(object as Record<string, unknown>).map(([key, value]) => [key, fn(value)]));

function vendorKeywords(node: unknown, into: Set<string>) {
  if (Array.isArray(node)) {
    for (const item of node) vendorKeywords(item, into);
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith("x-")) into.add(key);
      else vendorKeywords(value, into);
    }
  }
}

function createAjv() {
  // strictSchema stays on so a validation keyword or format this file does not know fails loudly
  // instead of being skipped; strictTypes is off because the spec leaves out `type: object` (Model).
  const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false, discriminator: true });
  addFormats(ajv);
  // Formats OpenAPI names but JSON Schema does not define.
  ajv.addFormat("float", { type: "number", validate: Number.isFinite });
  // Seconds, as the spec's descriptions say; a millisecond timestamp (> 1e11 since 1973) is a bug.
  ajv.addFormat("unixtime", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= 0 && n < 1e11 });
  // OpenAPI's `example` and the `x-*` extensions are annotations; they do not constrain anything.
  // `components` only holds the schemas the refs point into, as in the spec.
  const annotations = new Set(["example", "components"]);
  vendorKeywords(schemas.components, annotations);
  ajv.addVocabulary([...annotations]);
  ajv.addSchema({ $id: "openai", components: { schemas: mapValues(schemas.components.schemas, convertNullable) } }, undefined, undefined, false);
  return ajv;
}

let ajv: ReturnType<typeof createAjv> | undefined;
const validators = new Map<RootSchema, ValidateFunction>();

function validator(name: RootSchema): ValidateFunction {
  let validate = validators.get(name);
  if (!validate) {
    ajv ??= createAjv();
    validate = ajv.getSchema(`openai#/components/schemas/${name}`);
    if (!validate) throw new Error(`${name} is not in test/fixtures/openai-schemas.json`);
    validators.set(name, validate);
  }
  return validate;
}

// An enum's message leaves out the values it allows.
const detail = (e: ErrorObject) => (e.keyword === "enum" ? ` ${JSON.stringify(e.params.allowedValues)}` : "");

const formatErrors = (errors: ErrorObject[]) => errors.map((e) => `  ${e.instancePath || "(root)"} ${e.message}${detail(e)}`).join("\n");

/** Throws, listing ajv's errors (instance path and message), when `value` does not match OpenAI's schema `name`. */
export function expectValid(name: RootSchema, value: unknown): void {
  const validate = validator(name);
  if (!validate(value)) {
    throw new Error(`not a valid OpenAI ${name} (spec ${schemas.spec.commit.slice(0, 12)}):\n${formatErrors(validate.errors ?? [])}\nvalue: ${JSON.stringify(value)}`);
  }
}
