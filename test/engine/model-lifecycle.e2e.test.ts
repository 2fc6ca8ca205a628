import { afterAll, describe, expect, test } from "bun:test";
import { SCRIPTED } from "../../scripts/gen-model.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Without flash attention (pinned below for the budget tests, whose sizes follow it) node-llama-cpp
// estimates the default context (4 sequences of 4096 tokens) of the random-weight model at 45 MiB
// and of the scripted ones at 29 MiB.
const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function serve(presets: Parameters<typeof modelsFolder>[0], args: string[]): Promise<TestServer> {
  const server = await startServer({ models: await modelsFolder(presets), args });
  servers.push(server);
  return server;
}

async function chat(server: TestServer, model: string, extra: object = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 4, temperature: 0, ...extra }),
    signal,
  });
}

async function loaded(server: TestServer): Promise<string[]> {
  const res = await fetch(`${server.url}/api/ps`);
  return ((await res.json()).models as Array<{ name: string }>).map((m) => m.name.replace(/:latest$/, "")).sort();
}

describe("--max-loaded-models 1", async () => {
  const server = await serve(["endless", "text"], ["--max-loaded-models", "1"]);

  test("loading a second model unloads the idle first one", async () => {
    expect((await chat(server, "endless")).status).toBe(200);
    expect(await loaded(server)).toEqual(["endless"]);
    const res = await chat(server, "text", { max_tokens: 100 });
    expect((await res.json()).choices[0].message.content).toBe(SCRIPTED.text.content);
    expect(await loaded(server)).toEqual(["text"]);
  });

  test("a model in use is not evicted: the other model's request waits until it is idle", async () => {
    const res = await chat(server, "endless", { max_tokens: 3000, stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    void (async () => {
      while (!(await reader.read()).done);
    })().catch(() => undefined);
    let answered = false;
    const waiting = chat(server, "text", { max_tokens: 100 }).then((r) => {
      answered = true;
      return r;
    });
    await Bun.sleep(1000);
    expect(answered).toBe(false);
    expect(await loaded(server)).toEqual(["endless"]);
    await reader.cancel();
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect((await answer.json()).choices[0].message.content).toBe(SCRIPTED.text.content);
    expect(await loaded(server)).toEqual(["text"]);
  });

  test("a load given up while it waits for room leaves the pool able to load that model later", async () => {
    const busy = await chat(server, "endless", { max_tokens: 3000, stream: true });
    const reader = busy.body!.getReader();
    await reader.read();
    // keep_alive 0: the abandoned load is unloaded at once, while it still waits for room.
    const controller = new AbortController();
    const abandoned = fetch(`${server.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "Hi" }], keep_alive: 0, stream: false }),
      signal: controller.signal,
    }).catch((err: Error) => err);
    await Bun.sleep(300);
    controller.abort();
    expect(((await abandoned) as Error).name).toBe("AbortError");
    await reader.cancel();
    const answer = await chat(server, "text", { max_tokens: 100 }, AbortSignal.timeout(20_000));
    expect((await answer.json()).choices[0].message.content).toBe(SCRIPTED.text.content);
    expect(await loaded(server)).toEqual(["text"]);
  });
});

describe("--max-loaded-models 2", async () => {
  const server = await serve(["tiny", "text", "think"], ["--max-loaded-models", "2"]);

  test("the least recently used idle model is the one unloaded", async () => {
    for (const model of ["tiny", "text", "tiny"]) expect((await chat(server, model)).status).toBe(200);
    expect(await loaded(server)).toEqual(["text", "tiny"]);
    expect((await chat(server, "think")).status).toBe(200);
    expect(await loaded(server)).toEqual(["think", "tiny"]);
  });
});

describe("--memory-budget", async () => {
  const roomForOne = await serve(["tiny", "text"], ["--memory-budget", "50MiB", "--flash-attention", "off"]);
  const roomForNone = await serve(["tiny"], ["--memory-budget", "20MiB", "--flash-attention", "off"]);

  test("a model that does not fit next to the loaded ones unloads them, though the count would allow both", async () => {
    expect((await chat(roomForOne, "tiny")).status).toBe(200);
    expect(await loaded(roomForOne)).toEqual(["tiny"]);
    expect((await chat(roomForOne, "text")).status).toBe(200);
    expect(await loaded(roomForOne)).toEqual(["text"]);
  });

  test("a model that cannot fit at all is refused with 507 naming the need and the budget, in OpenAI's shape", async () => {
    const res = await chat(roomForNone, "tiny");
    expect(res.status).toBe(507);
    const { error } = await res.json();
    expect(error).toMatchObject({ type: "server_error", code: "insufficient_memory", param: "model" });
    expect(error.message).toMatch(/^model "tiny" needs about 4\d\.\d MiB \(weights 0\.\d MiB, context 4\d\.\d MiB for 4 sequences of 4096 tokens\), more than the memory budget of 20\.0 MiB$/);
  });

  test("and in Ollama's; nothing was loaded and the server goes on answering", async () => {
    const res = await fetch(`${roomForNone.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }], stream: false }) });
    expect(res.status).toBe(507);
    expect((await res.json()).error).toContain("more than the memory budget");
    expect(await loaded(roomForNone)).toEqual([]);
    expect((await fetch(`${roomForNone.url}/health`)).status).toBe(200);
  });
});

describe("the embeddings context", async () => {
  // tiny (45 MiB with its context) and text (29 MiB) fit the budget side by side; tiny's embeddings
  // context (one sequence of 4096 tokens, node-llama-cpp's default flash attention) takes 41.1 MiB
  // more by node-llama-cpp's estimate, and then they no longer do.
  const server = await serve(["tiny", "text"], ["--memory-budget", "100MiB", "--flash-attention", "off"]);
  const MiB = 2 ** 20;

  async function sizeOf(model: string): Promise<number> {
    const { models } = await (await fetch(`${server.url}/api/ps`)).json();
    return models.find((m: { name: string }) => m.name === `${model}:latest`).size;
  }

  async function ollamaChat(model: string, keepAlive?: number): Promise<Response> {
    return fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], stream: false, keep_alive: keepAlive, options: { num_predict: 2 } }) });
  }

  test("counts in /api/ps once an embeddings request created it, and in the memory budget", async () => {
    expect((await ollamaChat("tiny")).status).toBe(200);
    const before = await sizeOf("tiny");
    // Loaded beside tiny and unloaded once it answered: tiny is still there, so the two fitted.
    expect((await ollamaChat("text", 0)).status).toBe(200);
    expect(await loaded(server)).toEqual(["tiny"]);

    const embed = await fetch(`${server.url}/api/embed`, { method: "POST", body: JSON.stringify({ model: "tiny", input: "hello" }) });
    expect(embed.status).toBe(200);
    expect(((await sizeOf("tiny")) - before) / MiB).toBeCloseTo(41.1, 1);
    // Now they do not: loading text unloads the idle tiny.
    expect((await ollamaChat("text")).status).toBe(200);
    expect(await loaded(server)).toEqual(["text"]);
  });
});
