import { Kind } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

type Schema = Record<string, unknown> & { anyOf?: Schema[]; properties?: Record<string, Schema> };
interface ValueError {
  path: string;
  message: string;
  schema: Schema;
  value: unknown;
}

/** The message of Elysia's ValidationError for a request schema, never shown: validationDetail words the failure. */
export const QUIET_VALIDATION_MESSAGE = "The request does not match its schema.";

/**
 * Gives every request schema of the app's routes (bodies, queries, path parameters, headers) the
 * message its failures carry. Without one, Elysia's ValidationError renders the whole value that
 * failed into its message, pretty-printed, with up to 64 errors each holding its own value: a
 * 10 MB string is rendered several times over, 10,000 levels of nesting take seconds (or overflow
 * the stack). A schema with an `error` of its own (Elysia's custom error message) skips all that;
 * the first error, which validationDetail reads, is still found. The property is not enumerable,
 * so the OpenAPI document does not show it. Used as a plugin once every route is added.
 */
export function quietValidationErrors<App extends { routes: ReadonlyArray<{ hooks?: unknown }> }>(app: App): App {
  const seen = new WeakSet<object>();
  for (const route of app.routes) {
    const hooks = (route.hooks ?? {}) as Record<string, unknown>;
    for (const part of ["body", "query", "params", "headers", "cookie"]) quiet(hooks[part], seen);
  }
  return app;
}

function quiet(node: unknown, seen: WeakSet<object>): void {
  if (typeof node !== "object" || node === null || seen.has(node)) return;
  seen.add(node);
  if (!Array.isArray(node) && Kind in node && !("error" in node)) {
    Object.defineProperty(node, "error", { value: QUIET_VALIDATION_MESSAGE, enumerable: false, configurable: true, writable: true });
  }
  for (const child of Object.values(node)) quiet(child, seen);
}

/**
 * Elysia reports a response that fails its schema with the same code as a bad request; that is
 * the server's fault, not the client's, so it must not come back as a 400 naming a field.
 */
export function isRequestValidation(code: string | number, error: unknown): boolean {
  return code === "VALIDATION" && (error as { type?: string }).type !== "response";
}

/**
 * Turns Elysia's validation error into a message and a param in the dotted form OpenAI uses
 * ("messages[0].content"). TypeBox reports a failed union only as "Expected union value" at the
 * union itself; for discriminated unions (messages by role, parts by type), and for an object
 * where only one variant is an object (a nullable one), the variant the client meant is
 * re-checked so the error names the exact field.
 */
export function validationDetail(error: unknown): { message: string; param: string | null } {
  const raw = (error as { valueError?: ValueError }).valueError;
  if (!raw) return { message: `Invalid request body: ${(error as Error).message}`, param: null };
  const precise = narrowUnion(raw);
  const param = pointerToParam(precise.path) || null;
  const expected = describeSchema(precise.schema);
  const reason = expected ? `expected ${expected}` : precise.message.toLowerCase();
  return { message: param ? `Invalid value for '${param}': ${reason}.` : `Invalid request body: ${reason}.`, param };
}

function narrowUnion(err: ValueError): ValueError {
  const variants = err.schema.anyOf;
  if (!variants || typeof err.value !== "object" || err.value === null) return err;
  const objects = variants.filter((variant) => variant.type === "object");
  const chosen = Array.isArray(err.value)
    ? variants.find((variant) => variant.type === "array")
    : (pickVariant(variants, err.value as Record<string, unknown>) ?? (objects.length === 1 ? objects[0] : undefined));
  if (!chosen) return badDiscriminator(err, variants) ?? err;
  const inner = Value.Errors(chosen as never, err.value).First() as ValueError | undefined;
  if (!inner) return err;
  return narrowUnion({ ...inner, path: err.path + inner.path });
}

function pickVariant(variants: Schema[], value: Record<string, unknown>): Schema | undefined {
  return variants.find((variant) => Object.entries(variant.properties ?? {}).some(([key, prop]) => discriminates(prop, value[key])));
}

/** An object matching no variant: blame its discriminator ("role", "type") and list the allowed values. */
function badDiscriminator(err: ValueError, variants: Schema[]): ValueError | undefined {
  const first = variants[0]?.properties ?? {};
  const key = Object.keys(first).find((k) => variants.every((v) => v.properties?.[k] && (v.properties[k]!.const !== undefined || v.properties[k]!.anyOf)));
  if (!key) return undefined;
  const allowed = variants.flatMap((v) => v.properties![key]!.anyOf ?? [v.properties![key]!]);
  return { path: `${err.path}/${key}`, message: "", schema: { anyOf: allowed }, value: (err.value as Record<string, unknown>)[key] };
}

function discriminates(prop: Schema, v: unknown): boolean {
  if ("const" in prop) return prop.const === v;
  return prop.anyOf?.some((p) => "const" in p && p.const === v) ?? false;
}

function describeSchema(schema: Schema): string | undefined {
  if ("const" in schema) return JSON.stringify(schema.const);
  if (schema.anyOf) {
    const parts = [...new Set(schema.anyOf.map(describeSchema))];
    return parts.includes(undefined) ? undefined : parts.join(" or ");
  }
  const type = schema.type;
  if (typeof type !== "string") return undefined;
  const bounds: string[] = [];
  if (typeof schema.minimum === "number") bounds.push(`≥ ${schema.minimum}`);
  if (typeof schema.exclusiveMinimum === "number") bounds.push(`> ${schema.exclusiveMinimum}`);
  if (typeof schema.maximum === "number") bounds.push(`≤ ${schema.maximum}`);
  if (typeof schema.minItems === "number") bounds.push(`at least ${schema.minItems} item(s)`);
  if (typeof schema.maxItems === "number") bounds.push(`at most ${schema.maxItems} item(s)`);
  if (typeof schema.minLength === "number" && schema.minLength > 0) bounds.push(`at least ${schema.minLength} character(s)`);
  if (typeof schema.maxLength === "number") bounds.push(`at most ${schema.maxLength} character(s)`);
  if (typeof schema.pattern === "string") bounds.push(`matching /${schema.pattern}/`);
  const name = type === "integer" ? "an integer" : type === "array" ? "an array" : type === "object" ? "an object" : type;
  return bounds.length > 0 ? `${name} ${bounds.join(", ")}` : name;
}

export function pointerToParam(pointer: string): string {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((seg) => seg.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}
