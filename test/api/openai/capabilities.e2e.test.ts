import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// `plain` has a template without tools or thinking, so only the "completion" capability; `think` has both.
// Only what the adapter checks is pinned here: reasoning and tools are not checked against capabilities.
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["plain", "think"]), args: ["--ctx-size", "1024", "--parallel", "1"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
});

const capabilitiesOf = (model: unknown) => (model as { capabilities: string[] }).capabilities;

describe("reported capabilities", () => {
  test("GET /v1/models: completion only for plain, tools and thinking for think", async () => {
    const byId = Object.fromEntries((await client.models.list()).data.map((m) => [m.id, m]));
    expect(capabilitiesOf(byId.plain)).toEqual(["completion"]);
    expect(capabilitiesOf(byId.think)).toEqual(expect.arrayContaining(["completion", "tools", "thinking"]));
  });

  test("GET /v1/models/plain: completion only", async () => {
    expect(capabilitiesOf(await client.models.retrieve("plain"))).toEqual(["completion"]);
  });
});

describe("chat on a completion-only model", () => {
  test("answers the scripted sentence", async () => {
    const res = await client.chat.completions.create({ model: "plain", messages: [{ role: "user", content: "Say something." }] });
    expect(res.choices[0]!.message.content).toBe(SCRIPTED.plain.content);
    expect(res.choices[0]!.finish_reason).toBe("stop");
  });

  test("streams the scripted sentence", async () => {
    const stream = await client.chat.completions.create({ model: "plain", messages: [{ role: "user", content: "Say something." }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(SCRIPTED.plain.content);
  });
});
