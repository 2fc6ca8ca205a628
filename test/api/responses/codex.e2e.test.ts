import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { SCRIPTED } from "../../../scripts/gen-model.ts";
import recorded from "../../fixtures/codex-responses-request.json";
import { modelsFolder } from "../../support/models.ts";
import { expectValid } from "../../support/openai-schemas.ts";
import { startServer, type TestServer } from "../../support/server.ts";
import { parseResponseStream, postResponses, type StreamEvent } from "./sse.ts";

// What Codex CLI sends a custom provider with wire_api = "responses", replayed with raw fetch:
// a zstd-compressed body, tools of types Hearth cannot run (skipped), store false with
// include ["reasoning.encrypted_content"], and a second turn that sends the call's output back.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tool", "text", "think"]), args: ["--ctx-size", "4096", "--parallel", "2"] });
});

afterAll(async () => {
  await server?.stop();
});

type Body = typeof recorded.body;

function zstd(body: unknown): Uint8Array {
  return Bun.zstdCompressSync(new TextEncoder().encode(JSON.stringify(body)));
}

async function replay(body: unknown, headers: Record<string, string> = recorded.headers, encode: (body: unknown) => Uint8Array = zstd): Promise<StreamEvent[]> {
  const res = await postResponses(server.url, encode(body), { headers });
  const text = await res.text();
  expect({ status: res.status, text: res.status === 200 ? "" : text }).toEqual({ status: 200, text: "" });
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  return parseResponseStream(text);
}

describe("a recorded Codex CLI turn", () => {
  test("is answered with a function call to the one tool it can use; the other tool types are skipped", async () => {
    const events = await replay(recorded.body);
    const final = events.at(-1)!;
    expect(final.type).toBe("response.completed");
    const response = final.response;
    expect(response.store).toBe(false);
    expect(response.parallel_tool_calls).toBe(false);
    expect(response.reasoning).toEqual({ effort: "medium", summary: "auto" });
    expect(response.prompt_cache_key).toBe(recorded.body.prompt_cache_key);
    expect(response.text).toEqual({ format: { type: "text" }, verbosity: "medium" });
    expect(response.tools.map((tool: { name: string }) => tool.name)).toEqual(["shell", "update_plan", "view_image", "get_weather"]);
    const call = response.output.find((item: { type: string }) => item.type === "function_call");
    expect(call).toMatchObject({ name: SCRIPTED.tool.name, status: "completed" });
    expect(JSON.parse(call.arguments)).toEqual(SCRIPTED.tool.arguments);
    const done = events.filter((e) => e.type === "response.output_item.done").map((e) => e.item);
    expect(done).toEqual(response.output);
  });

  test("the next turn sends back the call and its output, as Codex does, and is answered", async () => {
    const first = (await replay(recorded.body)).at(-1)!.response;
    // Codex keeps the items it got (without their ids) and adds the tool's output.
    const echoed = first.output.map(({ id: _id, status: _status, ...item }: Record<string, unknown>) => item);
    const call = echoed.find((item: Record<string, unknown>) => item.type === "function_call")!;
    const next: Body = {
      ...recorded.body,
      input: [...recorded.body.input, ...echoed, { type: "function_call_output", call_id: call.call_id, output: "sunny, 21 °C" }] as Body["input"],
    };
    const events = await replay(next);
    const response = events.at(-1)!.response;
    expect(response.status).toBe("completed");
    const text = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("");
    expect(text).toBe(SCRIPTED.tool.answer);
    expect(response.output.at(-1).content[0].text).toBe(SCRIPTED.tool.answer);
    // The same prefix as the first turn: much of the prompt comes from the cache.
    expect(response.usage.input_tokens_details.cached_tokens).toBeGreaterThan(first.usage.input_tokens / 2);
  });

  test("reasoning comes back with encrypted_content, which a later turn may send without its text", async () => {
    const body = { ...recorded.body, model: "think", tools: [], input: [{ role: "user", content: [{ type: "input_text", text: "Hi" }] }] } as unknown as Body;
    const response = (await replay(body)).at(-1)!.response;
    const reasoning = response.output[0];
    expect(reasoning).toMatchObject({ type: "reasoning", content: [{ type: "reasoning_text", text: SCRIPTED.think.reasoning }] });
    expect(reasoning.encrypted_content).toEqual(expect.any(String));
    const { content: _content, id: _id, status: _status, ...sentBack } = reasoning;
    const next = { ...body, input: [...body.input, sentBack, response.output[1], { role: "user", content: [{ type: "input_text", text: "Again" }] }] } as unknown as Body;
    const again = (await replay(next)).at(-1)!.response;
    expect(again.status).toBe("completed");
  });

  test("a gzip body and an uncompressed one are read the same", async () => {
    const gzip = await replay(recorded.body, { ...recorded.headers, "content-encoding": "gzip" }, (body) => gzipSync(JSON.stringify(body)));
    const { "content-encoding": _, ...plain } = recorded.headers;
    const identity = await replay(recorded.body, plain, (body) => new TextEncoder().encode(JSON.stringify(body)));
    for (const events of [gzip, identity]) expect(events.at(-1)!.response.output.some((item: { type: string }) => item.type === "function_call")).toBe(true);
  });

  test("the input token count of the same compressed body equals the turn's usage", async () => {
    const res = await postResponses(server.url, zstd(recorded.body), { headers: recorded.headers, path: "/v1/responses/input_tokens" });
    expect(res.status).toBe(200);
    const counted = await res.json();
    expectValid("TokenCountsResource", counted);
    const usage = (await replay(recorded.body)).at(-1)!.response.usage;
    expect(counted.input_tokens).toBe(usage.input_tokens);
  });
});

describe("Codex's probe", () => {
  test.each([
    ["[]", []],
    ['""', ""],
  ])("empty input %s with max_output_tokens 1 is answered, streamed or not", async (_label, input) => {
    const probe = { model: "text", input, max_output_tokens: 1, store: false };
    const res = await postResponses(server.url, zstd(probe), { headers: recorded.headers });
    expect(res.status).toBe(200);
    const response = await res.json();
    expectValid("Response", response);
    expect(response.usage.output_tokens).toBeLessThanOrEqual(1);
    expect(["completed", "incomplete"]).toContain(response.status);
    const events = await replay({ ...probe, stream: true });
    expect(["response.completed", "response.incomplete"]).toContain(events.at(-1)!.type);
  });
});

describe("bodies that do not decode", () => {
  test("a corrupt zstd body is a 400 in OpenAI's shape", async () => {
    const res = await postResponses(server.url, new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), { headers: recorded.headers });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: "invalid_request_error", param: null });
    expect(body.error.message).toContain("zstd");
  });

  test("an unknown Content-Encoding is a 400 naming it", async () => {
    const res = await postResponses(server.url, JSON.stringify(recorded.body), { headers: { ...recorded.headers, "content-encoding": "compress" } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain('"compress"');
  });

  test("every route decodes: the chat completions route reads a gzip body", async () => {
    const body = gzipSync(JSON.stringify({ model: "text", messages: [{ role: "user", content: "Foxes?" }], temperature: 0 }));
    const res = await postResponses(server.url, body, { path: "/v1/chat/completions", headers: { "content-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe(SCRIPTED.text.content);
  });
});
