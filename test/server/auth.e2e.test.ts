import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { modelsFolder } from "../support/models.ts";
import { createKey as createKeyIn, hearthKeys } from "../support/keys.ts";
import { SOURCE_CLI, startServer, type TestServer } from "../support/server.ts";

const ORIGIN = "http://chat.home.arpa";
const STATIC_KEY = "static-operator-key-0123456789";
let server: TestServer;
let models: string;
let dataDir: string;
const keys: Record<string, string> = {};

const createKey = (name: string, ...flags: string[]) => createKeyIn(dataDir, name, ...flags);

function get(path: string, key?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: { ...(key && { authorization: `Bearer ${key}` }), ...headers } });
}

function post(path: string, body: unknown, key?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...(key && { authorization: `Bearer ${key}` }), ...headers } });
}

const chat = (model = "tiny") => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 2, temperature: 0 });

beforeAll(async () => {
  models = await modelsFolder(["tiny", "text"]);
  dataDir = await mkdtemp(join(tmpdir(), "hearth-auth-"));
  keys.inference = createKey("inference");
  keys.alice = createKey("alice", "--user", "alice", "--project", "p1");
  keys.limited = createKey("limited", "--models", "tiny");
  keys.manager = createKey("manager", "--scope", "models");
  keys.admin = createKey("admin", "--scope", "admin");
  keys.rpm = createKey("rpm", "--rpm", "2");
  keys.parallel = createKey("parallel", "--max-parallel", "1");
  server = await startServer({ models, args: ["--data-dir", dataDir, "--cors-origin", ORIGIN, "--parallel", "2"], env: { ...process.env, HEARTH_API_KEY: STATIC_KEY } as Record<string, string> });
});

afterAll(async () => {
  await server?.stop();
});

describe("without a valid credential", () => {
  test("OpenAI routes answer 401 invalid_api_key in OpenAI's shape with WWW-Authenticate and the request id", async () => {
    const missing = await post("/v1/chat/completions", chat());
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    const body = await missing.json();
    expect(body.error).toMatchObject({ type: "invalid_request_error", param: null, code: "missing_credentials" });
    expect(body.request_id).toBe(missing.headers.get("x-request-id")!);
    const wrong = await post("/v1/chat/completions", chat(), `hth_abcdefghijkl_${"0".repeat(60)}abcd`);
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error).toEqual({ message: "Incorrect API key provided: hth_…abcd.", type: "invalid_request_error", param: null, code: "invalid_api_key" });
  });

  test("Ollama routes answer {error: unauthorized}; Anthropic routes an authentication_error", async () => {
    const ollama = await post("/api/chat", chat());
    expect(ollama.status).toBe(401);
    const ollamaBody = await ollama.json();
    expect(ollamaBody).toEqual({ error: "unauthorized", request_id: ollama.headers.get("x-request-id")! });
    const anthropic = await post("/v1/messages", { ...chat(), max_tokens: 2 }, undefined, { "x-api-key": "nope-nope-nope" });
    expect(anthropic.status).toBe(401);
    const anthropicBody = await anthropic.json();
    expect(anthropicBody).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(anthropicBody.request_id).toBe(anthropic.headers.get("request-id"));
  });

  test("only /health is public: model listings are not", async () => {
    expect((await get("/health")).status).toBe(200);
    for (const path of ["/v1/models", "/api/tags", "/api/ps", "/api/version", "/", "/metrics", "/openapi.json"]) expect([path, (await get(path)).status]).toEqual([path, 401]);
  });

  test("the SDKs surface the 401 as their authentication errors", async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-wrong-wrong-wrong", maxRetries: 0 });
    expect(await openai.chat.completions.create(chat() as never).then(String, (err: unknown) => err)).toBeInstanceOf(OpenAI.AuthenticationError);
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: "sk-ant-wrong", maxRetries: 0 });
    const refused = await anthropic.messages.create({ model: "tiny", max_tokens: 2, messages: [{ role: "user", content: "hi" }] }).then(String, (err: unknown) => err);
    expect(refused).toBeInstanceOf(Anthropic.AuthenticationError);
  });
});

describe("with a key", () => {
  test("the openai, ollama and Anthropic clients configured with a key are answered", async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: keys.inference!, maxRetries: 0 });
    const completion = await openai.chat.completions.create(chat() as never);
    expect(completion.choices[0]!.message.role).toBe("assistant");
    const ollama = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${keys.inference}` } });
    expect((await ollama.chat({ model: "tiny", messages: [{ role: "user", content: "hi" }], options: { num_predict: 2 } })).done).toBe(true);
    expect((await ollama.list()).models.length).toBe(2);
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: keys.inference!, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: "tiny", max_tokens: 2, messages: [{ role: "user", content: "hi" }] });
    expect(message.type).toBe("message");
  });

  test("the hearth client commands send HEARTH_API_KEY", async () => {
    const list = (key: string) => spawnSync({ cmd: [...SOURCE_CLI, "list"], stdout: "pipe", stderr: "pipe", env: { ...process.env, HEARTH_HOST: server.url, HEARTH_API_KEY: key } });
    const listed = list(keys.inference!);
    expect(listed.exitCode, listed.stderr.toString()).toBe(0);
    expect(listed.stdout.toString()).toContain("tiny:latest");
    const refused = list("");
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("unauthorized");
  });

  test("a static key from HEARTH_API_KEY has every scope", async () => {
    expect((await get("/metrics", STATIC_KEY)).status).toBe(200);
    expect((await post("/v1/chat/completions", chat(), STATIC_KEY)).status).toBe(200);
  });

  test("scopes: inference keys cannot manage models or read metrics; models keys cannot generate; admin can do all", async () => {
    const pull = await post("/api/pull", { model: "tiny" }, keys.inference);
    expect(pull.status).toBe(403);
    expect((await pull.json()).error).toContain('"models" scope');
    const metrics = await get("/metrics", keys.inference);
    expect(metrics.status).toBe(403);
    expect((await metrics.json()).error).toMatchObject({ type: "permission_denied", code: "permission_denied" });
    const generate = await post("/v1/chat/completions", chat(), keys.manager);
    expect(generate.status).toBe(403);
    const copy = await post("/api/copy", { source: "tiny", destination: "tiny-copy" }, keys.manager);
    expect(copy.status).toBe(200);
    const removed = await fetch(`${server.url}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: "tiny-copy" }), headers: { authorization: `Bearer ${keys.admin}` } });
    expect(removed.status).toBe(200);
    expect((await get("/metrics", keys.admin)).status).toBe(200);
    const anthropic = await post("/v1/messages", chat(), undefined, { "x-api-key": keys.manager! });
    expect(anthropic.status).toBe(403);
    expect((await anthropic.json()).error.type).toBe("permission_error");
  });

  test("a key limited to some models is told the others do not exist", async () => {
    const listed = await (await get("/v1/models", keys.limited)).json();
    expect(listed.data.map((m: { id: string }) => m.id)).toEqual(["tiny"]);
    const tags = await (await get("/api/tags", keys.limited)).json();
    expect(tags.models.map((m: { name: string }) => m.name)).toEqual(["tiny:latest"]);
    const hidden = await post("/v1/chat/completions", chat("text"), keys.limited);
    expect(hidden.status).toBe(404);
    expect((await hidden.json()).error).toMatchObject({ code: "model_not_found", param: "model" });
    expect((await get("/v1/models/text", keys.limited)).status).toBe(404);
    expect((await post("/api/show", { model: "text" }, keys.limited)).status).toBe(404);
    expect((await post("/v1/chat/completions", chat("tiny"), keys.limited)).status).toBe(200);
  });

  test("the seed's identity headers: a service key acts for the user named; a personal key only for its own", async () => {
    expect((await post("/v1/chat/completions", chat(), keys.inference, { "x-user-id": "carol", "x-project-id": "lab" })).status).toBe(200);
    expect((await post("/v1/chat/completions", chat(), keys.alice, { "x-user-id": "alice", "x-project-id": "p1" })).status).toBe(200);
    const other = await post("/v1/chat/completions", chat(), keys.alice, { "x-user-id": "bob" });
    expect(other.status).toBe(403);
    expect((await other.json()).error.code).toBe("permission_denied");
    expect((await post("/v1/chat/completions", chat(), keys.alice, { "x-project-id": "p2" })).status).toBe(403);
  });

  test("requests per minute: over the limit is a 429 with Retry-After, in each API's shape", async () => {
    expect((await get("/v1/models", keys.rpm)).status).toBe(200);
    expect((await get("/api/tags", keys.rpm)).status).toBe(200);
    const over = await get("/v1/models", keys.rpm);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await over.json()).error.code).toBe("rate_limit_exceeded");
    const ollama = await get("/api/tags", keys.rpm);
    expect(ollama.status).toBe(429);
    expect(typeof (await ollama.json()).error).toBe("string");
  });

  test("requests at once: a second while a stream is open is a 429; once it ends, it is admitted", async () => {
    const streaming = await post("/v1/chat/completions", { ...chat(), max_tokens: 40, stream: true }, keys.parallel);
    expect(streaming.status).toBe(200);
    const second = await get("/v1/models", keys.parallel);
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    await streaming.text();
    expect((await get("/v1/models", keys.parallel)).status).toBe(200);
  });

  test("revoking and rotating take effect at once on the running server", async () => {
    const key = createKey("short-lived");
    expect((await get("/v1/models", key)).status).toBe(200);
    const id = key.split("_")[1]!;
    const rotated = hearthKeys(dataDir, "rotate", id);
    expect(rotated.code).toBe(0);
    expect((await get("/v1/models", key)).status).toBe(401);
    expect((await get("/v1/models", rotated.stdout)).status).toBe(200);
    expect(hearthKeys(dataDir, "revoke", id).code).toBe(0);
    const revoked = await get("/v1/models", rotated.stdout);
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).error.message).toContain("revoked");
    const listed = hearthKeys(dataDir, "list", "--json");
    const entry = JSON.parse(listed.stdout).find((k: { id: string }) => k.id === id);
    expect(entry.revokedAt).toBeString();
    expect(listed.stdout).not.toContain(rotated.stdout.split("_")[2]);
  });

  test("the request log names the request id and the key's id, never the key", async () => {
    const response = await get("/v1/models", keys.alice, { "x-request-id": "trace-42" });
    expect(response.headers.get("x-request-id")).toBe("trace-42");
    await Bun.sleep(50);
    const line = server.output().split("\n").find((l) => l.includes('"request_id":"trace-42"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ principal: keys.alice!.split("_")[1], status: 200 });
    expect(server.output()).not.toContain(keys.alice!.split("_")[2]!);
    await post("/v1/chat/completions", { ...chat(), chat_id: "chat-7" }, keys.inference, { "x-request-id": "trace-43" });
    await Bun.sleep(50);
    const chatLine = server.output().split("\n").find((l) => l.includes('"request_id":"trace-43"'));
    expect(JSON.parse(chatLine!)).toMatchObject({ chat_id: "chat-7", principal: keys.inference!.split("_")[1], model: "tiny" });
  });

  test("an unsafe inbound request id is replaced; errors carry the id in every dialect", async () => {
    const response = await get("/v1/models", keys.inference, { "x-request-id": "bad id\twith spaces" });
    expect(response.headers.get("x-request-id")).toMatch(/^req_[A-Za-z0-9]{24}$/);
    const notFound = await post("/api/show", { model: "nope" }, keys.inference, { "x-request-id": "r-1" });
    expect(await notFound.json()).toMatchObject({ request_id: "r-1" });
    const invalid = await post("/v1/chat/completions", { model: "tiny" }, keys.inference, { "x-request-id": "r-2" });
    expect(invalid.status).toBe(400);
    const body = await invalid.json();
    expect(body).toMatchObject({ request_id: "r-2", code: body.error.code, message: body.error.message });
  });
});

describe("keys over HTTP (admin scope)", () => {
  test("an admin key creates, lists, rotates and revokes keys; the secret is shown only when made", async () => {
    expect((await get("/v1/keys", keys.inference)).status).toBe(403);
    const created = await post("/v1/keys", { name: "from-http", scopes: ["inference"], models: ["tiny"], rpm: 5, expires_in: 3600 }, keys.admin);
    expect(created.status).toBe(200);
    const key = await created.json();
    expect(key).toMatchObject({ object: "api_key", name: "from-http", scopes: ["inference"], models: ["tiny"], rpm: 5, max_parallel: null, revoked_at: null, user: null });
    expect(key.expires_at - key.created_at).toBe(3600);
    expect(key.key).toStartWith(`hth_${key.id}_`);
    expect((await get("/v1/models", key.key)).status).toBe(200);
    const listed = await (await get("/v1/keys", keys.admin)).json();
    const entry = listed.data.find((k: { id: string }) => k.id === key.id);
    expect(entry.key).toBeUndefined();
    expect(entry.hint).toBe(`hth_…${key.key.slice(-4)}`);
    expect(entry.last_used_at).toBeNumber();
    const rotated = await (await post(`/v1/keys/${key.id}/rotate`, {}, keys.admin)).json();
    expect((await get("/v1/models", key.key)).status).toBe(401);
    expect((await get("/v1/models", rotated.key)).status).toBe(200);
    const revoked = await fetch(`${server.url}/v1/keys/${key.id}`, { method: "DELETE", headers: { authorization: `Bearer ${keys.admin}` } });
    expect((await revoked.json()).revoked_at).toBeNumber();
    expect((await get("/v1/models", rotated.key)).status).toBe(401);
    const unknown = await get("/v1/keys/nosuchkey", keys.admin);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatchObject({ param: "id", code: "not_found" });
    const bad = await post("/v1/keys", { name: "x", scopes: ["root"] }, keys.admin);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toStartWith("scopes");
    // A lifetime past any date is refused, not stored to break every later listing.
    const forever = await post("/v1/keys", { name: "x", expires_in: 1e308 }, keys.admin);
    expect(forever.status).toBe(400);
    expect((await forever.json()).error.param).toBe("expires_in");
    expect((await get("/v1/keys", keys.admin)).status).toBe(200);
    expect(hearthKeys(dataDir, "create", "--name", "x", "--expires", "100000d").stderr).toContain("at most ten years");
  });
});

describe("CORS", () => {
  test("a preflight from a listed origin is answered without a credential; others are refused", async () => {
    const preflight = { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } };
    const allowed = await fetch(`${server.url}/v1/chat/completions`, preflight);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(allowed.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    const other = await fetch(`${server.url}/v1/chat/completions`, { ...preflight, headers: { ...preflight.headers, origin: "http://evil.example" } });
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("answers to a listed origin are readable there, failures included", async () => {
    const ok = await get("/v1/models", keys.inference, { origin: ORIGIN });
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    const refused = await get("/v1/models", undefined, { origin: ORIGIN });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect((await get("/v1/models", keys.inference, { origin: "http://evil.example" })).headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("serving the network", () => {
  test("a non-loopback address without credentials is refused with how to fix it; --no-auth serves on purpose", async () => {
    const empty = await mkdtemp(join(tmpdir(), "hearth-noauth-"));
    const refused = spawnSync({ cmd: [...SOURCE_CLI, "serve", "--host", "0.0.0.0", "--port", "0", "--models", models, "--data-dir", empty], stdout: "pipe", stderr: "pipe", env: { ...process.env, HEARTH_API_KEY: "" } });
    expect(refused.exitCode).toBe(2);
    const message = refused.stderr.toString();
    expect(message).toContain("hearth keys create");
    expect(message).toContain("--no-auth");
    const open = await startServer({ models, args: ["--host", "0.0.0.0", "--no-auth", "--data-dir", empty], env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string> });
    try {
      expect(open.output()).toContain("authentication off");
      expect((await fetch(`${open.url.replace("0.0.0.0", "127.0.0.1")}/v1/models`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  test("--api-key-file keys are accepted, one per line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-keyfile-"));
    await writeFile(join(dir, "keys"), "# operator keys\nfirst-static-key-aaaaaaaa\n\nsecond-static-key-bbbbbbbb\n");
    const keyed = await startServer({ models, args: ["--host", "0.0.0.0", "--api-key-file", join(dir, "keys"), "--data-dir", dir], env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string> });
    try {
      const base = keyed.url.replace("0.0.0.0", "127.0.0.1");
      expect((await fetch(`${base}/v1/models`, { headers: { authorization: "Bearer second-static-key-bbbbbbbb" } })).status).toBe(200);
      expect((await fetch(`${base}/v1/models`, { headers: { authorization: "Bearer first-static-key-aaaaaaaa" } })).status).toBe(200);
      expect((await fetch(`${base}/v1/models`, { headers: { authorization: "Bearer # operator keys" } })).status).toBe(401);
    } finally {
      await keyed.stop();
    }
  });
});

describe("JWT", () => {
  let jwks: ReturnType<typeof Bun.serve>;
  let jwtServer: TestServer;
  let privateKey: CryptoKey;
  const ISSUER = "https://auth.home.arpa";

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "sso-1", alg: "ES256", use: "sig" };
    jwks = Bun.serve({ port: 0, fetch: (request) => (new URL(request.url).pathname === "/jwks" ? Response.json({ keys: [jwk] }) : new Response("no", { status: 404 })) });
    const dir = await mkdtemp(join(tmpdir(), "hearth-jwt-"));
    jwtServer = await startServer({
      models,
      args: ["--data-dir", dir, "--jwt-jwks-url", `http://127.0.0.1:${jwks.port}/jwks`, "--jwt-issuer", ISSUER, "--jwt-audience", "hearth"],
      env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string>,
    });
  });

  afterAll(async () => {
    await jwtServer?.stop();
    jwks?.stop(true);
  });

  const sign = (claims: Record<string, unknown>, exp: string | number = "5m", audience = "hearth") =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "sso-1" }).setSubject("dana").setIssuer(ISSUER).setAudience(audience).setExpirationTime(exp).sign(privateKey);

  test("a token from the SSO is accepted through the openai SDK", async () => {
    const openai = new OpenAI({ baseURL: `${jwtServer.url}/v1`, apiKey: await sign({ project: "home" }), maxRetries: 0 });
    expect((await openai.models.list()).data.length).toBe(2);
  });

  test("expired, wrong-audience and alg none tokens are 401 invalid_token; naming another user is 403", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await fetch(`${jwtServer.url}/v1/models`, { headers: { authorization: `Bearer ${await sign({}, now - 300)}` } });
    expect(expired.status).toBe(401);
    expect((await expired.json()).error).toMatchObject({ code: "invalid_token", message: "The token has expired." });
    const audience = await fetch(`${jwtServer.url}/v1/models`, { headers: { authorization: `Bearer ${await sign({}, "5m", "other")}` } });
    expect(audience.status).toBe(401);
    const none = [{ alg: "none" }, { sub: "dana", iss: ISSUER, aud: "hearth", exp: now + 300 }].map((part) => Buffer.from(JSON.stringify(part)).toString("base64url")).join(".") + ".";
    expect((await fetch(`${jwtServer.url}/v1/models`, { headers: { authorization: `Bearer ${none}` } })).status).toBe(401);
    const impersonating = await fetch(`${jwtServer.url}/v1/models`, { headers: { authorization: `Bearer ${await sign({})}`, "x-user-id": "erin" } });
    expect(impersonating.status).toBe(403);
  });
});
