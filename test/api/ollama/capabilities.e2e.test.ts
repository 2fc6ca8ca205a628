import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { WEATHER_TOOL } from "../../support/fixtures.ts";
import { json } from "../../support/ollama-wire.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// `plain` has a template without tools or thinking, so only the "completion" capability; `think` has
// both, and shows that the same request is refused for the capability alone.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["plain", "think"]), args: ["--ctx-size", "1024", "--parallel", "1"] });
});

afterAll(async () => {
  await server?.stop();
});

const messages = [{ role: "user", content: "Say something." }];
const chat = (body: Record<string, unknown>) => json(`${server.url}/api/chat`, { model: "plain", messages, stream: false, ...body });
const generate = (body: Record<string, unknown>) => json(`${server.url}/api/generate`, { model: "plain", prompt: "Say something.", stream: false, ...body });

const weatherTool = WEATHER_TOOL;

describe("thinking", () => {
  test("/api/chat with think on a model without the capability: 400 with Ollama's message, streamed or not", async () => {
    const expected = { status: 400, body: { error: '"plain" does not support thinking', request_id: expect.any(String) } };
    expect(await chat({ think: true })).toEqual(expected);
    expect(await chat({ think: true, stream: true })).toEqual(expected);
    // a level asks for thinking as much as true does
    expect(await chat({ think: "high" })).toEqual(expected);
  });

  test("/api/generate with think on a model without the capability: 400 with Ollama's message", async () => {
    expect(await generate({ think: true })).toEqual({ status: 400, body: { error: '"plain" does not support thinking', request_id: expect.any(String) } });
  });

  test("think false or absent: the model answers", async () => {
    for (const think of [false, undefined]) {
      const { status, body } = await chat({ think });
      expect(status).toBe(200);
      expect(body.message.content).toBe(SCRIPTED.plain.content);
      expect(body.message.thinking).toBeUndefined();
      const generated = await generate({ think });
      expect(generated.status).toBe(200);
      expect(generated.body.response).toBe(SCRIPTED.plain.content);
    }
  });

  test("the same request on a thinking model is answered", async () => {
    const { status, body } = await chat({ model: "think", think: true });
    expect(status).toBe(200);
    expect(body.message).toMatchObject({ content: SCRIPTED.think.content, thinking: SCRIPTED.think.reasoning });
  });
});

describe("tools", () => {
  test("/api/chat with tools on a model without the capability: 400 with Ollama's message", async () => {
    expect(await chat({ tools: [weatherTool] })).toEqual({ status: 400, body: { error: "plain does not support tools", request_id: expect.any(String) } });
  });

  test("an empty tools list asks for nothing", async () => {
    const { status, body } = await chat({ tools: [] });
    expect(status).toBe(200);
    expect(body.message.content).toBe(SCRIPTED.plain.content);
  });
});

describe("reported capabilities", () => {
  test("/api/show: completion only", async () => {
    const { status, body } = await json(`${server.url}/api/show`, { model: "plain" });
    expect(status).toBe(200);
    expect(body.capabilities).toEqual(["completion"]);
    expect((await json(`${server.url}/api/show`, { model: "think" })).body.capabilities).toEqual(expect.arrayContaining(["completion", "tools", "thinking"]));
  });

  test("/api/tags: completion only", async () => {
    const res = await fetch(`${server.url}/api/tags`);
    const { models } = (await res.json()) as { models: Array<{ name: string; capabilities: string[] }> };
    expect(models.find((m) => m.name === "plain:latest")?.capabilities).toEqual(["completion"]);
  });
});
