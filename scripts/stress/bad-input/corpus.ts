/**
 * The bad-input corpus: for every route the running app documents in /openapi.json, requests
 * that a client should never send (malformed or empty bodies, wrong content types, wrong methods,
 * every field of the request schema sent every JSON kind it does not take, numbers and strings
 * past every edge, 10,000 levels of nesting, 10 MB strings, invalid UTF-8, NUL bytes, unknown
 * models and model names that try to leave the models folder). Each case says what it may be
 * answered with: a 4xx, or at least no 5xx where the value may well be valid (a -1 here, a 0 there).
 */
import { acceptsKind, fieldsOf, kindOf, type Field, type Path } from "./schema-fields.ts";
import {
  bigString,
  deepArray,
  deepObject,
  describeValue,
  EDGE_NUMBERS,
  EDGE_STRINGS,
  encodeBody,
  nameTricks,
  ONE_OF_EACH_KIND,
  Raw,
  UNKNOWN_MODELS,
} from "./values.ts";

export type Category =
  | "wrong method"
  | "path parameter"
  | "query"
  | "malformed body"
  | "content type"
  | "wrong type"
  | "edge number"
  | "edge string"
  | "deep nesting"
  | "10 MB string"
  | "model name"
  | "route specific";

export interface Case {
  /** what was sent, in a line: method, path and the value or body that makes the case */
  id: string;
  /** the documented route it is sent to, "POST /v1/models/{model}"; the wrong-method cases name the path's */
  route: string;
  /** the body field the case is about, dotted ("messages.0.content"), when it is about one */
  field?: string;
  category: Category;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** made when sent: a corpus holding every 10 MB body at once would take gigabytes */
  body?: () => Uint8Array<ArrayBuffer>;
  expect: "4xx" | "no 5xx";
}

export interface CorpusContext {
  sandboxRoot: string;
  /** host:port of the local registry that pull and push names point at: no request may leave this machine */
  registryHost: string;
}

interface OpenApi {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: object }> } }>>;
}

interface Route {
  method: string;
  /** the documented pattern, /v1/models/{model} */
  pattern: string;
  /** a valid path for it, parameters filled in */
  path: string;
  jsonSchema?: object;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
const ZERO_DIGEST = `sha256:${"0".repeat(64)}`;

/** A valid example of each path parameter. */
const PATH_PARAMETERS: Record<string, string> = { model: "tiny", digest: ZERO_DIGEST };

/**
 * A valid request for each body route, small and quick: the `text` model ends its answer after a
 * few tokens whatever a mutated limit says. A route the app documents without a base here fails
 * the build of the corpus, so that a new route cannot go untested.
 */
function bases(context: CorpusContext): Record<string, Record<string, unknown>> {
  const chat = { model: "text", messages: [{ role: "user", content: "Hi" }], max_tokens: 1 };
  const ollamaChat = { model: "text", messages: [{ role: "user", content: "Hi" }], stream: false, options: { num_predict: 1 } };
  const remote = (name: string) => `${context.registryHost}/library/${name}`;
  const rerank = { model: "rank", query: "Hi", documents: ["Hi", { text: "Hello" }], top_n: 1, return_documents: true };
  return {
    "POST /v1/chat/completions": chat,
    "POST /v1/chat": chat,
    "POST /v1/completions": { model: "text", prompt: "Hi", max_tokens: 1 },
    "POST /v1/embeddings": { model: "tiny", input: "Hi" },
    "POST /api/chat": ollamaChat,
    "POST /api/generate": { model: "text", prompt: "Hi", stream: false, options: { num_predict: 1 } },
    "POST /api/show": { model: "tiny" },
    "POST /api/copy": { source: "tiny", destination: "copied" },
    "DELETE /api/delete": { model: "absent-model" },
    "POST /api/embed": { model: "tiny", input: "Hi" },
    "POST /api/embeddings": { model: "tiny", prompt: "Hi" },
    "POST /api/pull": { model: remote("absent:latest"), insecure: true, stream: false },
    "POST /api/push": { model: remote("absent:latest"), insecure: true, stream: false },
    "POST /api/create": { model: "created", from: "tiny", stream: false },
    "POST /v1/responses": { model: "text", input: "Hi", max_output_tokens: 1 },
    "POST /v1/responses/input_tokens": { model: "text", input: "Hi" },
    "POST /v1/messages": { model: "text", max_tokens: 1, messages: [{ role: "user", content: "Hi" }] },
    "POST /v1/messages/count_tokens": { model: "text", messages: [{ role: "user", content: "Hi" }] },
    "POST /tokenize": { model: "text", content: "Hi" },
    "POST /detokenize": { model: "text", tokens: [1, 2] },
    "POST /v1/rerank": rerank,
    "POST /v1/reranking": rerank,
    "POST /rerank": rerank,
    "POST /reranking": rerank,
    // The store's routes: the {…_id} in their paths name nothing, so those answer 404 whatever the body.
    "POST /v1/keys": { name: "stress", scopes: ["inference"], models: ["tiny"], rpm: 60, max_parallel: 2, expires_in: 3600 },
    "POST /v1/conversations": { metadata: { a: "b" }, items: [{ type: "message", role: "user", content: "Hi" }] },
    "POST /v1/conversations/{conversation_id}": { metadata: { a: "b" } },
    "POST /v1/conversations/{conversation_id}/items": { items: [{ type: "message", role: "user", content: "Hi" }] },
    "POST /v1/chat/completions/{completion_id}": { metadata: { a: "b" } },
    "POST /v1/vector_stores": { name: "stress", embedding_model: "tiny", metadata: { a: "b" }, expires_after: { anchor: "last_active_at", days: 7 }, chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } } },
    "POST /v1/vector_stores/{vector_store_id}": { name: "renamed", metadata: { a: "b" } },
    "POST /v1/vector_stores/{vector_store_id}/files": { file_id: "file-absent", attributes: { a: "b", n: 1 }, chunking_strategy: { type: "auto" } },
    "POST /v1/vector_stores/{vector_store_id}/files/{file_id}": { attributes: { a: "b" } },
    "POST /v1/vector_stores/{vector_store_id}/search": { query: "Hi", max_num_results: 5, filters: { type: "eq", key: "a", value: "b" }, ranking_options: { score_threshold: 0.1 } },
  };
}

/** Valid values for containers a nested field needs, so that its own value is what the server judges. */
const CONTAINERS: Record<string, unknown> = {
  tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }],
  "messages.0.tool_calls": [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
  "messages.0.content": [{ type: "text", text: "Hi" }],
  response_format: { type: "json_object" },
};

/** Fields naming a model that must exist (unknown ones are a 404)... */
const MODEL_FIELDS = new Set(["model", "name", "source", "from"]);
/** ...except where they name a model to be made. */
const NEW_NAME_FIELDS: Record<string, string[]> = { "POST /api/copy": ["destination"], "POST /api/create": ["model", "name"] };
/** ...and where a field so named is no model at all: a key's `name` is its label, any text. */
const NOT_MODEL_FIELDS: Record<string, string[]> = { "POST /v1/keys": ["name"], "POST /v1/vector_stores": ["name"], "POST /v1/vector_stores/{vector_store_id}": ["name"] };
/** Routes whose names are registry references: every name sent there points at the local registry. */
const REMOTE_ROUTES = new Set(["POST /api/pull", "POST /api/push"]);

function routesOf(openapi: OpenApi): Route[] {
  return Object.entries(openapi.paths).flatMap(([pattern, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({
      method: method.toUpperCase(),
      pattern,
      path: pattern.replace(/\{(\w+)\}/g, (_, name: string) => PATH_PARAMETERS[name] ?? name),
      jsonSchema: operation.requestBody?.content["application/json"]?.schema,
    })),
  );
}

export function buildCorpus(openapi: OpenApi, context: CorpusContext): Case[] {
  const routes = routesOf(openapi);
  const known = bases(context);
  const cases: Case[] = [];
  const byPath = new Map<string, Route[]>();
  for (const route of routes) byPath.set(route.pattern, [...(byPath.get(route.pattern) ?? []), route]);
  for (const [pattern, served] of byPath) cases.push(...wrongMethods(pattern, served));
  for (const route of routes) {
    const key = `${route.method} ${route.pattern}`;
    if (route.pattern.includes("{")) cases.push(...pathParameterCases(route, context));
    if (route.method === "GET") cases.push(queryCase(route));
    if (route.jsonSchema) {
      const base = known[key];
      if (!base) throw new Error(`no base request for ${key}: add one to bases() in scripts/stress/bad-input/corpus.ts`);
      cases.push(...bodyCases(route, base), ...fieldCases(route, base, fieldsOf(route.jsonSchema as never), context), ...routeSpecific(route, base));
    }
  }
  return cases;
}

function request(
  route: { method: string; path: string; pattern: string },
  category: Category,
  what: string,
  body: Uint8Array<ArrayBuffer> | (() => Uint8Array<ArrayBuffer>) | undefined,
  expect: Case["expect"],
  headers: Record<string, string> = { "content-type": "application/json" },
): Case {
  const id = `${route.method} ${route.path}${what ? ` ${what}` : ""}`;
  const make = body === undefined || typeof body === "function" ? body : () => body;
  return { id, route: `${route.method} ${route.pattern}`, category, method: route.method, path: route.path, headers: body === undefined ? {} : headers, body: make, expect };
}

/** Methods a path does not serve; HEAD is left out where GET is served (servers answer it with GET's headers). */
function wrongMethods(pattern: string, served: Route[]): Case[] {
  const methods = new Set(served.map((r) => r.method));
  const path = served[0]!.path;
  return METHODS.filter((m) => !methods.has(m) && !(m === "HEAD" && methods.has("GET"))).map((method) =>
    request({ method, path, pattern }, "wrong method", `(served: ${[...methods].join(", ")} ${pattern})`, method === "GET" || method === "HEAD" ? undefined : encodeBody({}), "4xx"),
  );
}

function pathParameterCases(route: Route, context: CorpusContext): Case[] {
  const encoded = [...nameTricks(context.sandboxRoot), ...UNKNOWN_MODELS].map((name) => encodeURIComponent(name));
  // As they would arrive from a client that does not encode, or encodes badly.
  const verbatim = ["..%2F..%2Fcanary", "%2e%2e", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%zz", "%", "%00", "tiny%00", "%C0%AE%C0%AE%2Fcanary", "%ff%fe", "a".repeat(4000)];
  const digests = route.pattern.includes("{digest}") ? ["sha256:", `sha256:${"g".repeat(64)}`, `sha256:${"0".repeat(63)}`, `sha512:${"0".repeat(128)}`, `SHA256:${"0".repeat(64)}`, `sha256-${"0".repeat(64)}`, `sha256:${"0".repeat(64)}/../../x`] : [];
  return [...encoded, ...verbatim, ...digests.map(encodeURIComponent)].map((value) => {
    const path = route.pattern.replace(/\{\w+\}/, value);
    const body = route.method === "POST" ? new Uint8Array([1, 2, 3]) : undefined;
    // URLs resolve "." and ".." segments (%2e included) before they are sent: /v1/models/. is /v1/models/, a valid route.
    const dotSegment = /^(\.|%2e){1,2}$/i.test(value);
    return request({ ...route, path }, "path parameter", "", body, dotSegment ? "no 5xx" : "4xx", { "content-type": "application/octet-stream" });
  });
}

function queryCase(route: Route): Case {
  const path = `${route.path}?model=..%2F..%2Fetc%2Fpasswd&name=%zz&a[]=1&__proto__[x]=1&constructor=1&${"q=1&".repeat(500)}`;
  return request({ ...route, path }, "query", "", undefined, "no 5xx");
}

/** Bodies that are not the route's JSON object at all. */
function bodyCases(route: Route, base: Record<string, unknown>): Case[] {
  const text = (s: string) => new TextEncoder().encode(s);
  const valid = JSON.stringify(base);
  const malformed: Array<[string, Uint8Array<ArrayBuffer>]> = [
    ["empty body", text("")],
    ["whitespace body", text("  \n ")],
    ["truncated", text(valid.slice(0, valid.length / 2))],
    ["{", text("{")],
    ["trailing comma", text(valid.replace(/}$/, ",}"))],
    ["trailing garbage", text(`${valid}}`)],
    ["single quotes", text(valid.replaceAll('"', "'"))],
    ["null", text("null")],
    ["array", text("[]")],
    ["number", text("123")],
    ["string", text('"model"')],
    ["true", text("true")],
    ["invalid UTF-8 outside strings", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
    ["raw NUL outside strings", new Uint8Array([...text(valid.slice(0, -1)), 0x00, 0x7d])],
    ["deep array body", deepArray.bytes],
    ["deep object body", deepObject.bytes],
  ];
  const cases = malformed.map(([what, body]) => request(route, "malformed body", what, body, "4xx"));
  // Oddities a lenient parser may well take.
  cases.push(request(route, "malformed body", "byte order mark", text(`\ufeff${valid}`), "no 5xx"));
  cases.push(request(route, "malformed body", "duplicate keys", text(valid.replace(/^\{/, '{"model": 1, ')), "no 5xx"));
  // Other content types: a JSON body may be read as JSON whatever its type says; other bytes are a 4xx.
  const types: Array<[string, Uint8Array<ArrayBuffer>]> = [
    ["text/plain", text(valid)],
    ["application/x-www-form-urlencoded", text("model=tiny&messages=Hi&prompt=Hi&input=Hi")],
    ["multipart/form-data", text("--x\r\nContent-Disposition: form-data; name=model\r\n\r\ntiny\r\n--x--")],
    ["multipart/form-data; boundary=x", text("garbage without a boundary")],
    ["application/octet-stream", new Uint8Array([0, 1, 2, 3])],
    ["application/json; charset=latin1", new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])],
  ];
  for (const [type, body] of types) cases.push(request(route, "content type", `content-type: ${type}`, body, type === "text/plain" ? "no 5xx" : "4xx", { "content-type": type }));
  cases.push(request(route, "content type", "no content-type, empty body", new Uint8Array(), "4xx", {}));
  return cases;
}

/** Every field with each kind it does not take, numbers and strings past the edges, deep nesting, 10 MB, and, for model names, unknown models and escapes. */
function fieldCases(route: Route, base: Record<string, unknown>, fields: Field[], context: CorpusContext): Case[] {
  const key = `${route.method} ${route.pattern}`;
  const cases: Case[] = [];
  const add = (field: Field, category: Category, value: unknown, expect: Case["expect"]) => {
    const body = () => encodeBody(withValue(base, field.path, value, field.variant));
    const name = field.path.join(".");
    cases.push({ ...request(route, category, `${name}=${describeValue(value)}`, body, expect), field: name });
  };
  for (const field of fields) {
    const top = field.path.length === 1 ? String(field.path[0]) : undefined;
    const isModel = top !== undefined && MODEL_FIELDS.has(top) && !NEW_NAME_FIELDS[key]?.includes(top) && !NOT_MODEL_FIELDS[key]?.includes(top);
    const isNewName = top !== undefined && (NEW_NAME_FIELDS[key]?.includes(top) ?? false);
    const remote = REMOTE_ROUTES.has(key) && (top === "model" || top === "name");
    const name = (n: string) => (remote ? `${context.registryHost}/${n}` : n);
    const takes = (value: unknown) => acceptsKind(field, value instanceof Raw ? value.kind : kindOf(value), typeof value === "string" ? value : undefined);

    for (const value of ONE_OF_EACH_KIND) if (!takes(value)) add(field, "wrong type", value, "4xx");
    // A model name of a kind it takes yet naming nothing is a 404; elsewhere such values may be valid.
    const lenient = (value: unknown): Case["expect"] => (!takes(value) || isModel ? "4xx" : "no 5xx");
    const numeric = field.kinds === undefined || field.kinds.has("integer") || field.kinds.has("number") || field.numericStrings;
    if (numeric) for (const value of EDGE_NUMBERS) add(field, "edge number", value, lenient(value));
    if (!remote && (field.kinds === undefined || field.kinds.has("string"))) {
      for (const value of EDGE_STRINGS) add(field, "edge string", value, lenient(value));
      add(field, "10 MB string", bigString, lenient(bigString));
    }
    if (top !== undefined) {
      add(field, "deep nesting", deepArray, lenient(deepArray));
      add(field, "deep nesting", deepObject, lenient(deepObject));
    }
    if (isModel || isNewName) {
      for (const trick of nameTricks(context.sandboxRoot)) add(field, "model name", name(trick), "4xx");
    }
    if (isModel) for (const unknown of UNKNOWN_MODELS) add(field, "model name", name(unknown), "4xx");
  }
  return cases;
}

interface Extra {
  path: Path;
  value: unknown;
  expect: Case["expect"];
  /** base fields taken out, so that the value is what the route acts on */
  without?: string[];
}

/** Values the schema cannot describe: token ids, map keys, recursive JSON schemas, counts past reason. */
function routeSpecific(route: Route, base: Record<string, unknown>): Case[] {
  const key = `${route.method} ${route.pattern}`;
  const extra = (path: Path, value: unknown, expect: Case["expect"], without?: string[]): Extra => ({ path, value, expect, without });
  const recursive = [{ $ref: "#" }, { type: "object", properties: { a: { $ref: "#" } }, required: ["a"] }, { type: "array", items: { $ref: "#" }, minItems: 1 }];
  const tokenIds = [[-1], [2 ** 31], [999_999_999], [2 ** 53 + 1], Array.from({ length: 5000 }, () => 1)];
  const biases = [{ "-1": 5 }, { "999999999": 5 }, { abc: 5 }, { "1": 1e308 }, { "1": "x" }, { "1.5": 1 }, Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [String(i), -100]))];
  const manyStops = Array.from({ length: 1000 }, (_, i) => `stop ${i}`);
  const extras: Record<string, Extra[]> = {
    "POST /v1/chat/completions": [
      ...biases.map((b) => extra(["logit_bias"], b, "no 5xx")),
      ...recursive.map((schema) => extra(["response_format"], { type: "json_schema", json_schema: { name: "x", schema } }, "no 5xx")),
      ...recursive.map((schema) => extra(["tools"], [{ type: "function", function: { name: "f", parameters: schema } }], "no 5xx")),
      extra(["tool_choice"], { type: "function", function: { name: "absent" } }, "4xx"),
      extra(["guided_choice"], [], "no 5xx"),
      extra(["guided_choice"], Array.from({ length: 10_000 }, (_, i) => `choice ${i}`), "no 5xx"),
      extra(["stop"], manyStops, "no 5xx"),
      extra(["messages"], [], "4xx"),
      extra(["messages"], Array.from({ length: 10_000 }, () => ({ role: "user", content: "Hi" })), "no 5xx"),
      extra(["messages"], [{ role: "tool", content: "x", tool_call_id: "absent" }], "no 5xx"),
      extra(["messages"], [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{not json" } }] }], "no 5xx"),
      extra(["messages"], [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }], "4xx"),
    ],
    "POST /v1/completions": [
      ...tokenIds.map((ids) => extra(["prompt"], ids, "no 5xx")),
      extra(["prompt"], [[1, 2], [-1]], "no 5xx"),
      extra(["prompt"], [], "no 5xx"),
      ...biases.map((b) => extra(["logit_bias"], b, "no 5xx")),
    ],
    "POST /v1/responses": [
      ...recursive.map((schema) => extra(["text"], { format: { type: "json_schema", name: "x", schema } }, "no 5xx")),
      ...recursive.map((schema) => extra(["tools"], [{ type: "function", name: "f", parameters: schema }], "no 5xx")),
      extra(["tools"], [{ type: "web_search" }, { type: "custom", name: "x" }, { type: "local_shell" }], "no 5xx"),
      extra(["tool_choice"], { type: "function", name: "absent" }, "4xx"),
      extra(["previous_response_id"], "resp_1", "4xx"),
      extra(["input"], [{ type: "function_call_output", call_id: "absent", output: "x" }], "4xx"),
      extra(["input"], [{ type: "function_call", call_id: "c", name: "f", arguments: "{not json" }], "4xx"),
      extra(["input"], [{ type: "function_call", call_id: "c", name: "f", arguments: "null" }], "no 5xx"),
      extra(["input"], [{ type: "reasoning", summary: [], encrypted_content: "hearth.v1.%%%" }], "no 5xx"),
      extra(["input"], [{ role: "user", content: [{ type: "input_image", image_url: "file:///etc/passwd" }] }], "4xx"),
      extra(["input"], Array.from({ length: 10_000 }, () => ({ role: "user", content: "Hi" })), "no 5xx"),
    ],
    "POST /v1/messages": [
      ...recursive.map((schema) => extra(["tools"], [{ name: "f", input_schema: schema }], "no 5xx")),
      extra(["tools"], [{ type: "web_search_20250305", name: "web_search" }], "4xx"),
      extra(["tool_choice"], { type: "tool", name: "absent" }, "4xx"),
      extra(["stop_sequences"], manyStops, "no 5xx"),
      extra(["messages"], [], "4xx"),
      extra(["messages"], [{ role: "user", content: [{ type: "tool_result", tool_use_id: "absent", content: "x" }] }], "4xx"),
      extra(["messages"], [{ role: "user", content: [{ type: "image", source: { type: "url", url: "file:///etc/passwd" } }] }], "4xx"),
      extra(["messages"], [{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] }], "no 5xx"),
    ],
    "POST /detokenize": tokenIds.map((ids) => extra(["tokens"], ids, "no 5xx")),
    "POST /v1/embeddings": [...tokenIds.map((ids) => extra(["input"], ids, "no 5xx")), extra(["input"], [], "no 5xx"), extra(["input"], Array.from({ length: 10_000 }, () => "Hi"), "no 5xx")],
    "POST /api/generate": [
      ...tokenIds.map((ids) => extra(["context"], ids, "no 5xx")),
      ...recursive.map((schema) => extra(["format"], schema, "no 5xx")),
      extra(["template"], "{{ range .Messages }}{{ .Content }}{{ end }}", "4xx"),
      extra(["template"], "{% for m in messages %}{{ m.content }}{% endfor %}{{ raise_exception('x') }}", "no 5xx"),
      extra(["template"], "{{ .Prompt", "no 5xx"),
      extra(["template"], "{% for x in range(999999999) %}x{% endfor %}", "no 5xx"),
      extra(["raw"], true, "no 5xx"),
      extra(["suffix"], "end", "4xx"),
      extra(["images"], ["not base64 at all"], "4xx"),
    ],
    "POST /api/chat": [
      ...recursive.map((schema) => extra(["format"], schema, "no 5xx")),
      ...recursive.map((schema) => extra(["tools"], [{ type: "function", function: { name: "f", parameters: schema } }], "no 5xx")),
      extra(["messages"], [{ role: "tool", content: "x", tool_name: "absent" }], "no 5xx"),
      extra(["messages"], [{ role: "wizard", content: "x" }], "4xx"),
      extra(["options"], { num_ctx: 1 }, "no 5xx"),
      extra(["options"], { stop: manyStops }, "no 5xx"),
      extra(["options"], { unknown_option: { deep: [1, 2, 3] } }, "no 5xx"),
    ],
    "POST /api/create": [
      extra(["files"], { "../../x.gguf": ZERO_DIGEST }, "4xx", ["from"]),
      extra(["files"], { "/tmp/x.gguf": ZERO_DIGEST }, "4xx", ["from"]),
      extra(["files"], { "model.gguf": "sha256:../../etc/passwd" }, "4xx", ["from"]),
      extra(["files"], { "model.gguf": ZERO_DIGEST }, "4xx", ["from"]),
      extra(["files"], {}, "4xx", ["from"]),
      extra(["adapters"], { "lora.gguf": ZERO_DIGEST }, "4xx"),
      extra(["parameters"], { num_ctx: "many" }, "4xx"),
      extra(["parameters"], { stop: 5 }, "4xx"),
      extra(["parameters"], { unknown_parameter: 1 }, "no 5xx"),
      extra(["messages"], [{ role: "wizard", content: "x" }], "4xx"),
      extra(["license"], Array.from({ length: 10_000 }, () => "MIT"), "no 5xx"),
    ],
  };
  return (extras[key] ?? []).map(({ path, value, expect, without = [] }) => {
    const body = () => {
      const mutated = withValue(base, path, value);
      for (const field of without) delete mutated[field];
      return encodeBody(mutated);
    };
    const what = `${path.join(".")}=${describeValue(value)}${without.length > 0 ? ` without ${without.join(", ")}` : ""}`;
    return { ...request(route, "route specific", what, body, expect), field: path.join(".") };
  });
}

/**
 * The base with one field set; containers on the way are made (from CONTAINERS when the field
 * needs a valid one around it), and the object that picks the field's union variant gets its
 * discriminators. Setting `name` drops `model`, its alias, which would win.
 */
function withValue(base: Record<string, unknown>, path: Path, value: unknown, variant?: Field["variant"]): Record<string, unknown> {
  const body = structuredClone(base);
  if (path[0] === "name") delete body.model;
  let node: Record<string | number, unknown> = body;
  for (let i = 0; i < path.length - 1; i++) {
    if (variant && i === variant.at.length) Object.assign(node, variant.values);
    const step = path[i]!;
    const here = path.slice(0, i + 1).join(".");
    if (typeof node[step] !== "object" || node[step] === null) node[step] = structuredClone(CONTAINERS[here]) ?? (typeof path[i + 1] === "number" ? [] : {});
    node = node[step] as Record<string | number, unknown>;
  }
  if (variant && path.length - 1 === variant.at.length) Object.assign(node, variant.values);
  node[path.at(-1)!] = value;
  return body;
}

/** Every category the corpus has, in the order a report lists them. */
export const CATEGORIES: readonly Category[] = ["wrong method", "path parameter", "query", "malformed body", "content type", "wrong type", "edge number", "edge string", "deep nesting", "10 MB string", "model name", "route specific"];

/**
 * A few cases of each category for each route, spread evenly over them, for a short run: every
 * route still meets every kind of bad input, only fewer fields of each.
 */
export function sampleCorpus(cases: Case[], perRouteAndCategory: number): Case[] {
  const groups = new Map<string, Case[]>();
  for (const c of cases) {
    const key = `${c.route} ${c.category}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].flatMap((group) => {
    if (group.length <= perRouteAndCategory) return group;
    const step = group.length / perRouteAndCategory;
    return Array.from({ length: perRouteAndCategory }, (_, i) => group[Math.floor(i * step)]!);
  });
}
