import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { json } from "../../support/ollama-wire.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// A reload is seen where a client sees it: load_duration, near zero on a warm model, takes a whole
// load again. Loading the tiny generated model takes milliseconds; a warm request's wait for its
// sequence takes microseconds, so the two are told apart by a wide margin.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["text"]), args: ["--ctx-size", "2048"] });
});

afterAll(async () => {
  await server?.stop();
});

interface Answer {
  content: string;
  loadNs: number;
}

async function chat(options: Record<string, unknown> = {}): Promise<Answer> {
  const { status, body } = await json(`${server.url}/api/chat`, { model: "text", messages: [{ role: "user", content: "Hi" }], stream: false, options });
  expect(status).toBe(200);
  return { content: body.message.content, loadNs: body.load_duration };
}

/** The load_duration of a request on the model already loaded the same way; it loads it first. */
async function warmLoadNs(options: Record<string, unknown> = {}): Promise<number> {
  await chat(options);
  return (await chat(options)).loadNs;
}

/** What a cold load of the model costs, measured once with the server's defaults. */
let coldNs: number;

beforeEach(async () => {
  await json(`${server.url}/api/generate`, { model: "text", prompt: "", keep_alive: 0 });
  coldNs ??= (await chat()).loadNs;
});

function expectReloaded(answer: Answer, warmNs: number): void {
  expect(answer.content).toBe(SCRIPTED.text.content);
  // Against the warm wait only: a cold load measured on a busy machine can be many times a reload.
  expect(answer.loadNs).toBeGreaterThan(Math.max(warmNs * 20, 2_000_000));
}

function expectWarm(answer: Answer): void {
  expect(answer.content).toBe(SCRIPTED.text.content);
  expect(answer.loadNs).toBeLessThan(coldNs / 10);
}

describe("load options", () => {
  for (const [name, value] of [["num_thread", 1], ["use_mmap", false], ["num_batch", 64]] as const) {
    test(`${name} other than the loaded model's reloads it once; the same again does not`, async () => {
      const warmNs = await warmLoadNs();
      expectWarm({ content: SCRIPTED.text.content, loadNs: warmNs });
      expectReloaded(await chat({ [name]: value }), warmNs);
      expectWarm(await chat({ [name]: value }));
      // Back to the defaults is a reload too.
      expectReloaded(await chat(), warmNs);
    });
  }

  test("Ollama's values for the runtime's choice are the server's defaults: no reload", async () => {
    await warmLoadNs();
    expectWarm(await chat({ num_thread: 0, num_gpu: -1, use_mmap: true }));
  });

  test("a load request (empty prompt) loads with its options, which later requests then share", async () => {
    const warmNs = await warmLoadNs();
    const { status, body } = await json(`${server.url}/api/generate`, { model: "text", prompt: "", options: { num_thread: 1 } });
    expect(status).toBe(200);
    expect(body.done_reason).toBe("load");
    expectWarm(await chat({ num_thread: 1 }));
    expectReloaded(await chat(), warmNs);
  });

  test("a reload waits for the requests using the model: concurrent requests with either options all answer", async () => {
    const warmNs = await warmLoadNs();
    const answers = await Promise.all([chat(), chat({ num_thread: 1 }), chat({ num_thread: 1 }), chat()]);
    for (const answer of answers) expect(answer.content).toBe(SCRIPTED.text.content);
    expect(answers.filter((answer) => answer.loadNs > Math.max(warmNs * 20, coldNs / 10)).length).toBeGreaterThanOrEqual(1);
  });

  test("/api/generate reloads too", async () => {
    const warmNs = await warmLoadNs();
    const { status, body } = await json(`${server.url}/api/generate`, { model: "text", prompt: "Hi", stream: false, options: { num_thread: 1 } });
    expect(status).toBe(200);
    expectReloaded({ content: SCRIPTED.text.content, loadNs: body.load_duration }, warmNs);
  });

  test("a num_batch above the context is the context's: no second reload for another such value", async () => {
    const warmNs = await warmLoadNs();
    expectReloaded(await chat({ num_batch: 4096 }), warmNs);
    expectWarm(await chat({ num_batch: 2048 }));
    expectWarm(await chat({ num_batch: 2 ** 20 }));
  });

  const absurd = [["num_batch", 1e308], ["num_batch", 2 ** 53], ["num_batch", 2 ** 20 + 1], ["num_thread", 1e308]] as const;
  for (const [name, value] of [["num_thread", "two"], ["num_thread", -1], ["num_gpu", "all"], ["num_gpu", -2], ["num_batch", 0], ["use_mmap", "no"], ...absurd] as const) {
    test(`${name}: ${JSON.stringify(value)} is a 400 naming options.${name}`, async () => {
      const { status, body } = await json(`${server.url}/api/chat`, { model: "text", messages: [{ role: "user", content: "Hi" }], options: { [name]: value } });
      expect(status).toBe(400);
      expect(body.error).toContain(`options.${name}`);
    });
  }
});
