import { afterAll, beforeAll, expect, test } from "bun:test";
import { getLlamaGpuTypes } from "node-llama-cpp";
import { modelsFolder } from "../support/models.ts";
import { SOURCE_CLI, startServer, type TestServer } from "../support/server.ts";

// Server-wide behaviour outside any one route: unknown paths, the body limit and the default
// keep-alive, each answered in the dialect the path belongs to.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["text"]), args: ["--keep-alive", "0"] });
});

afterAll(async () => {
  await server?.stop();
});

test("an unknown path is a 404 in the dialect of its prefix", async () => {
  const openai = await fetch(`${server.url}/v1/nothing`);
  expect(openai.status).toBe(404);
  expect((await openai.json()).error).toMatchObject({ type: "invalid_request_error", code: "unknown_url" });
  const ollama = await fetch(`${server.url}/api/nothing`);
  expect(ollama.status).toBe(404);
  expect(await ollama.json()).toEqual({ error: "404 page not found", request_id: expect.any(String) });
});

test("a body over the limit on an Ollama route is a 413 in Ollama's error shape", async () => {
  const res = await fetch(`${server.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "x".repeat(32.5 * 1024 * 1024) }] }),
  });
  expect(res.status).toBe(413);
  expect((await res.json()).error).toContain("limit is 33554432 bytes");
});

test("--keep-alive 0 makes every request, OpenAI ones too, unload its model afterwards", async () => {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
  });
  expect(res.status).toBe(200);
  await res.json();
  const deadline = Date.now() + 5000;
  let loaded: unknown[] = [1];
  while (loaded.length > 0 && Date.now() < deadline) {
    loaded = (await (await fetch(`${server.url}/api/ps`)).json()).models;
    if (loaded.length > 0) await Bun.sleep(50);
  }
  expect(loaded).toEqual([]);
});

test("a forced GPU backend that cannot load is a clean exit 1 naming it, not a stack trace", async () => {
  const supported = await getLlamaGpuTypes("supported");
  if (supported.includes("cuda")) return; // a CUDA machine would start; the failure path needs one without
  const proc = Bun.spawn({ cmd: [...SOURCE_CLI, "serve", "--port", "0", "--gpu", "cuda", "--models", "/nonexistent"], stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = [await proc.exited, await new Response(proc.stderr).text()];
  expect(code).toBe(1);
  expect(stderr).toContain("--gpu cuda was requested, but no usable cuda runtime loads on this machine");
  expect(stderr).not.toContain("    at ");
});
