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

const orNull = (schema: unknown) => ({ anyOf: [schema, { type: "null" }] });

/**
 * Where the spec contradicts itself or OpenAI's own API, and Hearth follows the API:
 * - the legacy completion's logprobs with `echo`: the first prompt token has nothing before it,
 *   so its `token_logprobs`/`top_logprobs` entry is null (as OpenAI's API returns), though the
 *   list items are typed number/object;
 * - streamed completions: the description says "both the streamed and non-streamed response
 *   objects share the same shape", but chunks carry `finish_reason: null` until a choice ends and,
 *   per `stream_options.include_usage`'s own text, `usage: null` on all but the last chunk. So
 *   CreateCompletionStreamResponse is that shape with those two fields nullable.
 */
function withErrata(components: Record<string, any>): Record<string, any> {
  const completion = structuredClone(components.CreateCompletionResponse);
  const logprobs = completion.properties.choices.items.properties.logprobs.anyOf[0].properties;
  logprobs.token_logprobs.items = orNull(logprobs.token_logprobs.items);
  logprobs.top_logprobs.items = orNull(logprobs.top_logprobs.items);
  const stream = structuredClone(completion);
  stream.properties.choices.items.properties.finish_reason = orNull(stream.properties.choices.items.properties.finish_reason);
  stream.properties.usage = orNull(stream.properties.usage);
  return { ...components, CreateCompletionResponse: completion, CreateCompletionStreamResponse: stream };
}

/**
 * OpenAPI's `discriminator` is a hint: the oneOf/anyOf beside it says what is valid. ajv uses it
 * only where every variant names the tag in `properties` with a const or enum and requires it, and
 * refuses to compile otherwise; the Responses schemas break that rule (ResponseStreamEvent is an
 * anyOf, InputItem's messages leave `type` optional, OutputItem's *OutputResource variants are
 * allOfs). Where ajv cannot use it, the hint is dropped and the union alone validates.
 */
function usableDiscriminators(components: Record<string, unknown>): Record<string, unknown> {
  const resolve = (variant: Record<string, unknown>): Record<string, any> | undefined => {
    if (typeof variant.$ref !== "string") return variant;
    // ajv follows a $ref only when nothing but annotations stands beside it.
    if (Object.keys(variant).some((key) => !["$ref", "title", "description"].includes(key))) return undefined;
    return components[variant.$ref.slice("#/components/schemas/".length)] as Record<string, any> | undefined;
  };
  const usable = (node: Record<string, any>): boolean => {
    const tag = node.discriminator.propertyName as string;
    if (!Array.isArray(node.oneOf)) return false;
    const topRequired = (node.required ?? []).includes(tag);
    return node.oneOf.every((variant: Record<string, unknown>) => {
      const schema = resolve(variant);
      const prop = schema?.properties?.[tag];
      return !!prop && (prop.const !== undefined || Array.isArray(prop.enum)) && (topRequired || (schema!.required ?? []).includes(tag));
    });
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== "object") return node;
    const copy = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)])) as Record<string, any>;
    if (copy.discriminator && !usable(copy)) delete copy.discriminator;
    return copy;
  };
  return walk(components) as Record<string, unknown>;
}

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
  ajv.addSchema({ $id: "openai", components: { schemas: withErrata(usableDiscriminators(mapValues(schemas.components.schemas, convertNullable))) } }, undefined, undefined, false);
  return ajv;
}

type SchemaName = RootSchema | "CreateCompletionStreamResponse";

let ajv: ReturnType<typeof createAjv> | undefined;
const validators = new Map<string, ValidateFunction>();

/** Any vendored component schema by name: the roots, or one they reference (a stream event's own schema). */
function validator(name: string): ValidateFunction {
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
export function expectValid(name: SchemaName, value: unknown): void {
  check(name, value);
}

function check(name: string, value: unknown): void {
  const validate = validator(name);
  if (!validate(value)) {
    throw new Error(`not a valid OpenAI ${name} (spec ${schemas.spec.commit.slice(0, 12)}):\n${formatErrors(validate.errors ?? [])}\nvalue: ${JSON.stringify(value)}`);
  }
}

let eventSchemas: Map<string, string> | undefined;

/**
 * Throws unless `event` is a valid ResponseStreamEvent: it is checked against the member of that
 * union its `type` names, whose errors say what is wrong (the union's own list every member's).
 */
export function expectValidEvent(event: { type: string }): void {
  eventSchemas ??= new Map(
    (schemas.components.schemas.ResponseStreamEvent as { anyOf: Array<{ $ref: string }> }).anyOf.map(({ $ref }) => {
      const name = $ref.split("/").at(-1)!;
      const type = (schemas.components.schemas[name] as { properties: { type: { enum: string[] } } }).properties.type.enum[0]!;
      return [type, name];
    }),
  );
  const name = eventSchemas.get(event.type);
  if (!name) throw new Error(`no ResponseStreamEvent has type ${JSON.stringify(event.type)}`);
  check(name, event);
  check("ResponseStreamEvent", event);
}
