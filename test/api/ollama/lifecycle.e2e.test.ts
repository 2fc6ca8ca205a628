import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { Ollama } from "ollama";
import { modelsFolder } from "../../support/models.ts";
import { json, post, RFC3339 } from "../../support/ollama-wire.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// One sequence and a queue of one: a second request waits, a third is refused. The endless model
// keeps generating until it is stopped, long enough to hold the sequence.
let server: TestServer;
let ollama: Ollama;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["endless", "text"]), args: ["--parallel", "1", "--max-queue", "1", "--ctx-size", "32768"] });
  ollama = new Ollama({ host: server.url });
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(async () => {
  for (const model of ["endless", "text"]) await ollama.generate({ model, prompt: "", keep_alive: 0 });
});

interface Running {
  name: string;
  model: string;
  size: number;
  digest: string;
  details: { family: string; format: string };
  expires_at: string;
  size_vram: number;
  context_length: number;
}

async function ps(): Promise<Running[]> {
  const res = await fetch(`${server.url}/api/ps`);
  expect(res.status).toBe(200);
  return (await res.json()).models;
}

const expiresIn = async (name: string) => new Date((await ps()).find((m) => m.name === name)!.expires_at).getTime() - Date.now();
/** Starts a long streamed answer and keeps reading it (an unread body may be collected, which hangs up) until aborted. */
async function longStream(controller: AbortController, extra: object = {}): Promise<void> {
  const body = { model: "endless", messages: [{ role: "user", content: "hi" }], options: { temperature: 0 }, ...extra };
  const res = await post(`${server.url}/api/chat`, body, { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read();
  void (async () => {
    while (!(await reader.read()).done);
  })().catch(() => undefined);
}

test("an empty prompt loads the model: /api/ps lists it, unloaded in 5 minutes by default", async () => {
  expect(await ps()).toEqual([]);
  const { status, body } = await json(`${server.url}/api/generate`, { model: "text" });
  expect(status).toBe(200);
  expect(body).toMatchObject({ model: "text", response: "", done: true, done_reason: "load" });
  const [running] = await ps();
  expect(running).toMatchObject({ name: "text:latest", model: "text:latest", details: { family: "qwen3", format: "gguf" }, context_length: 32768 });
  expect(running!.digest).toMatch(/^[0-9a-f]{64}$/);
  expect(Number.isInteger(running!.size) && running!.size > 0).toBe(true);
  // llama.cpp on the CPU keeps nothing in GPU memory
  if (server.output().includes("backend CPU")) expect(running!.size_vram).toBe(0);
  else expect(running!.size_vram).toBeLessThanOrEqual(running!.size);
  expect(running!.expires_at).toMatch(RFC3339);
  const left = await expiresIn("text:latest");
  expect(left).toBeGreaterThan(5 * 60_000 - 10_000);
  expect(left).toBeLessThanOrEqual(5 * 60_000);
});

test("keep_alive sets when the model goes: a duration, seconds, or negative for forever", async () => {
  const load = (keep_alive: string | number) => json(`${server.url}/api/chat`, { model: "text", messages: [], keep_alive });
  expect((await load("1h30m")).body).toMatchObject({ message: { role: "assistant", content: "" }, done: true, done_reason: "load" });
  expect(Math.round((await expiresIn("text:latest")) / 60_000)).toBe(90);
  await load(30);
  expect(Math.round((await expiresIn("text:latest")) / 1000)).toBe(30);
  await load(-1);
  expect(new Date((await ps())[0]!.expires_at).getUTCFullYear()).toBeGreaterThan(2300);
});

test("empty messages with keep_alive 0 unload the model", async () => {
  await ollama.generate({ model: "text", prompt: "" });
  expect(await ps()).toHaveLength(1);
  const { body } = await json(`${server.url}/api/chat`, { model: "text", messages: [], keep_alive: 0 });
  expect(body).toMatchObject({ model: "text", message: { role: "assistant", content: "" }, done: true, done_reason: "unload" });
  expect(await ps()).toEqual([]);
});

test("keep_alive 0 on a request unloads the model once it is answered; the next request loads it again", async () => {
  const answered = await ollama.generate({ model: "text", prompt: "Foxes?", keep_alive: 0, stream: false });
  expect(answered.done_reason).toBe("stop");
  expect(await ps()).toEqual([]);
  const reloaded = await ollama.generate({ model: "text", prompt: "Foxes?", stream: false });
  const warm = await ollama.generate({ model: "text", prompt: "Foxes?", stream: false });
  expect(reloaded.load_duration).toBeGreaterThan(warm.load_duration);
  expect(await ps()).toHaveLength(1);
});

test("an idle model is unloaded when its keep_alive runs out", async () => {
  await ollama.generate({ model: "text", prompt: "Foxes?", keep_alive: "1s", stream: false });
  expect(await ps()).toHaveLength(1);
  await Bun.sleep(1500);
  expect(await ps()).toEqual([]);
});

test("a model is not unloaded while a request uses it: its keep_alive counts from the end", async () => {
  const controller = new AbortController();
  await longStream(controller, { keep_alive: "1s" });
  await Bun.sleep(1500);
  expect((await ps()).map((m) => m.name)).toEqual(["endless:latest"]);
  controller.abort();
  await Bun.sleep(300);
  expect((await ps()).map((m) => m.name)).toEqual(["endless:latest"]);
  await Bun.sleep(1500);
  expect(await ps()).toEqual([]);
});

test("past the queue bound a request gets 503 with Retry-After; a client that hangs up frees the sequence", async () => {
  const controller = new AbortController();
  await longStream(controller);
  const queued = ollama.generate({ model: "endless", prompt: "hi", options: { num_predict: 4 }, stream: false });
  await Bun.sleep(200);
  const refused = await post(`${server.url}/api/generate`, { model: "endless", prompt: "hi" });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("1");
  expect(await refused.json()).toEqual({ error: "server busy, please try again. maximum pending requests exceeded", request_id: expect.any(String) });
  const started = performance.now();
  controller.abort();
  expect((await queued).eval_count).toBe(4);
  expect(performance.now() - started).toBeLessThan(5000);
});
