import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request as httpRequest } from "node:http";
import { SCRIPTED } from "../../scripts/gen-model.ts";
import { modelsFolder } from "../support/models.ts";
import { expectValid } from "../support/openai-schemas.ts";
import { startServer, type TestServer } from "../support/server.ts";

let server: TestServer;

beforeAll(async () => {
  const models = await modelsFolder(["text", "tiny"]);
  server = await startServer({ models, args: ["--ctx-size", "512", "--parallel", "2"] });
});

afterAll(async () => {
  await server?.stop();
});

interface Reply {
  status: number;
  contentType: string | undefined;
  body: any;
}

/**
 * A request with exactly these headers and bytes, as curl sends it: fetch would add a content type
 * of its own (text/plain for a string) and re-encode text.
 */
function send(path: string, body: Uint8Array | string, contentType?: string, method = "POST"): Promise<Reply> {
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  const { hostname, port } = new URL(server.url);
  const headers: Record<string, string | number> = { "content-length": bytes.byteLength };
  if (contentType !== undefined) headers["content-type"] = contentType;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode!, contentType: res.headers["content-type"], body: parsed });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(bytes);
  });
}

/** What clients send JSON as: curl -d's form type, no type, text, and a charset that is not what the bytes are. */
const CONTENT_TYPES = ["application/x-www-form-urlencoded", undefined, "text/plain", "application/json; charset=utf-16", "application/json"];

describe("a JSON body is read as JSON whatever its content type", () => {
  test.each(CONTENT_TYPES)("chat completions, both paths, with content type %p", async (contentType) => {
    for (const path of ["/v1/chat/completions", "/v1/chat"]) {
      const reply = await send(path, JSON.stringify({ model: "text", messages: [{ role: "user", content: "Foxes?" }], temperature: 0 }), contentType);
      expect(reply.status).toBe(200);
      expectValid("CreateChatCompletionResponse", reply.body);
      expect(reply.body.choices[0].message.content).toBe(SCRIPTED.text.content);
    }
  });

  test.each(CONTENT_TYPES)("text completions with content type %p", async (contentType) => {
    const reply = await send("/v1/completions", JSON.stringify({ model: "tiny", prompt: "The", max_tokens: 2, seed: 1 }), contentType);
    expect(reply.status).toBe(200);
    expectValid("CreateCompletionResponse", reply.body);
  });

  test.each(CONTENT_TYPES)("embeddings with content type %p", async (contentType) => {
    const reply = await send("/v1/embeddings", JSON.stringify({ model: "tiny", input: "hello" }), contentType);
    expect(reply.status).toBe(200);
    expectValid("CreateEmbeddingResponse", reply.body);
  });

  test.each(CONTENT_TYPES)("Ollama's show with content type %p", async (contentType) => {
    const reply = await send("/api/show", JSON.stringify({ model: "text" }), contentType);
    expect(reply.status).toBe(200);
    expect(reply.body.capabilities).toContain("completion");
  });

  test("a byte order mark before the JSON is allowed", async () => {
    const json = Buffer.from(JSON.stringify({ model: "text" }));
    const reply = await send("/api/show", new Uint8Array([0xef, 0xbb, 0xbf, ...json]), "application/json");
    expect(reply.status).toBe(200);
  });
});

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Bodies that are not a JSON object, each with what the error message must say about it. */
const BAD_BODIES: Array<[label: string, body: Uint8Array | string, contentType: string | undefined, openaiMessage: RegExp]> = [
  ["an empty body", "", "application/json", /empty/],
  ["an empty body without a content type", "", undefined, /empty/],
  ["only whitespace", " \n", "application/json", /empty/],
  ["truncated JSON", '{"model": "text", "messages": [', "application/json", /not valid JSON/],
  ["a form, as a browser sends it", "model=text&prompt=hi", "application/x-www-form-urlencoded", /not valid JSON/],
  ["invalid UTF-8 in a string", new Uint8Array([...utf8('{"model": "text", "prompt": "'), 0xc3, 0x28, ...utf8('"}')]), "application/json", /not valid UTF-8/],
  ["UTF-16 with a UTF-16 charset", new Uint8Array(Buffer.from('{"model": "text"}', "utf16le")), "application/json; charset=utf-16le", /not valid JSON.*charset=utf-16le/],
  ["UTF-16 with a byte order mark", new Uint8Array([0xff, 0xfe, ...Buffer.from('{"model": "text"}', "utf16le")]), "application/json; charset=utf-16", /not valid UTF-8.*charset=utf-16/],
  ["an array", "[]", "application/json", /must be a JSON object, not an array\./],
  ["a string", '"x"', "application/json", /must be a JSON object, not a string\./],
  ["a number", "5", "application/json", /must be a JSON object, not a number\./],
  ["null", "null", "application/json", /must be a JSON object, not null\./],
  ["a boolean", "true", "application/json", /must be a JSON object, not a boolean\./],
];

const OPENAI_ROUTES = ["/v1/chat/completions", "/v1/chat", "/v1/completions", "/v1/embeddings"];
const OLLAMA_ROUTES: Array<[method: string, path: string]> = [
  ["POST", "/api/chat"],
  ["POST", "/api/generate"],
  ["POST", "/api/embed"],
  ["POST", "/api/embeddings"],
  ["POST", "/api/show"],
  ["POST", "/api/copy"],
  ["POST", "/api/pull"],
  ["POST", "/api/push"],
  ["POST", "/api/create"],
  ["DELETE", "/api/delete"],
];

describe("a body that is not a JSON object is a 400 in the API's own shape, never a 5xx", () => {
  test.each(BAD_BODIES)("OpenAI: %s", async (_label, body, contentType, message) => {
    for (const path of OPENAI_ROUTES) {
      const reply = await send(path, body, contentType);
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      expect(reply.contentType).toStartWith("application/json");
      expect(reply.body).toEqual({ error: { message: expect.stringMatching(message), type: "invalid_request_error", param: null, code: expect.any(String) }, code: expect.anything(), message: expect.any(String), request_id: expect.any(String) });
    }
  });

  test.each(BAD_BODIES)("Ollama: %s", async (_label, body, contentType, message) => {
    for (const [method, path] of OLLAMA_ROUTES) {
      const reply = await send(path, body, contentType, method);
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      expect(reply.contentType).toStartWith("application/json");
      expect(reply.body).toEqual({ error: expect.stringMatching(message), request_id: expect.any(String) });
    }
  });

  test("the OpenAI message names the parse failure and the JSON error", async () => {
    const reply = await send("/v1/chat/completions", "{nope", "text/plain");
    expect(reply.body.error).toEqual({ message: expect.stringMatching(/^The request body is not valid JSON \(.+\)\.$/), type: "invalid_request_error", param: null, code: "invalid_json" });
  });

  test("a blob upload is still streamed as bytes, never parsed as JSON", async () => {
    const bytes = utf8("not json at all \xff");
    const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    const reply = await send(`/api/blobs/sha256:${digest}`, bytes, "application/octet-stream");
    expect(reply.status).toBe(201);
  });

  test("the server answers normally afterwards", async () => {
    const reply = await send("/v1/chat/completions", JSON.stringify({ model: "text", messages: [{ role: "user", content: "Still there?" }], temperature: 0 }));
    expect(reply.status).toBe(200);
    expect(reply.body.choices[0].message.content).toBe(SCRIPTED.text.content);
  });
});
