import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Ajv from "ajv";
import { Ollama, type GenerateRequest, type GenerateResponse } from "ollama";
import { getSmallVocab, SCRIPTED } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { expectStats, json, ndjson, RFC3339 } from "../../support/ollama-wire.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// Each test would fail if the field it names were ignored: it compares with the answer the same
// request gives without it, or checks what only the field can produce.
let server: TestServer;
let ollama: Ollama;
let url: string;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "think", "tool", "text"]), args: ["--ctx-size", "2048", "--parallel", "2"] });
  ollama = new Ollama({ host: server.url });
  url = `${server.url}/api/generate`;
});

afterAll(async () => {
  await server?.stop();
});

const vocab = getSmallVocab();
/** Non-streamed answers always carry response (the client's type leaves it optional for image models). */
type Answer = GenerateResponse & { response: string };
const generate = (request: Omit<GenerateRequest, "stream" | "prompt"> & { prompt?: string }): Promise<Answer> =>
  ollama.generate({ prompt: "Foxes?", ...request, stream: false }) as Promise<Answer>;
const SENTENCE = SCRIPTED.text.content;
/** Once a <tool_response> token is anywhere in the context, the tool model answers instead of calling. */
const TOOL_RESPONSE = "<tool_response>sunny</tool_response>";

describe("wire format", () => {
  test("streams NDJSON: response chunks with done false, then the statistics and the context", async () => {
    const lines = await ndjson(url, { model: "text", prompt: "Foxes?" });
    const final = lines.at(-1);
    expect(lines.slice(0, -1).every((l) => l.done === false && l.model === "text")).toBe(true);
    expect(lines.map((l) => l.response).join("")).toBe(SENTENCE);
    expect(final).toMatchObject({ model: "text", response: "", done: true, done_reason: "stop" });
    expect(final.context.every(Number.isInteger)).toBe(true);
    expectStats(final);
    for (const line of lines) expect(line.created_at).toMatch(RFC3339);
  });

  test("stream false answers with one object", async () => {
    const response = await generate({ model: "text" });
    expect(response).toMatchObject({ model: "text", response: SENTENCE, done: true, done_reason: "stop" });
    expectStats(response as unknown as Record<string, unknown>);
  });

  test("the ollama client reads the stream", async () => {
    let text = "";
    for await (const part of await ollama.generate({ model: "text", prompt: "Foxes?", stream: true })) text += part.response;
    expect(text).toBe(SENTENCE);
  });
});

describe("prompt", () => {
  test("think true puts the reasoning in thinking, think false leaves it out", async () => {
    const thinking = await generate({ model: "think", think: true });
    expect(thinking.thinking).toBe(SCRIPTED.think.reasoning);
    expect(thinking.response).toBe(SCRIPTED.think.content);
    const direct = await generate({ model: "think", think: false });
    expect(direct.thinking).toBeUndefined();
    expect(direct.response).toBe(SCRIPTED.think.content);
  });

  test("streamed thinking arrives in thinking chunks", async () => {
    const lines = await ndjson(url, { model: "think", prompt: "Hi", think: true });
    expect(lines.map((l) => l.thinking ?? "").join("")).toBe(SCRIPTED.think.reasoning);
  });

  test("system goes before the prompt", async () => {
    expect((await generate({ model: "tool" })).response).toBe(SCRIPTED.tool.raw);
    expect((await generate({ model: "tool", system: TOOL_RESPONSE })).response).toBe(SCRIPTED.tool.answer);
  });

  test("context continues an earlier answer: its tokens come before the new prompt", async () => {
    const first = await generate({ model: "text" });
    const alone = await generate({ model: "text", prompt: "More?" });
    const continued = await generate({ model: "text", prompt: "More?", context: first.context });
    expect(continued.response).toBe(SENTENCE);
    expect(continued.prompt_eval_count).toBe(first.context.length + alone.prompt_eval_count);
    expect(continued.context.slice(0, first.context.length)).toEqual(first.context);
    expect(continued.context.length).toBeGreaterThan(first.context.length + alone.prompt_eval_count);
  });

  test("context with an id outside the vocabulary is a 400 naming it", async () => {
    const { status, body } = await json(url, { model: "text", prompt: "x", context: [1, 10_000_000] });
    expect(status).toBe(400);
    expect(body.error).toStartWith("context[1]");
  });

  test("raw sends the prompt as is and returns no context", async () => {
    const raw = await generate({ model: "text", prompt: "The quick brown", raw: true });
    expect(raw.response).toBe(SENTENCE.slice("The quick brown".length));
    expect(raw.prompt_eval_count).toBe(vocab.tokenize("The quick brown").length);
    expect(raw).not.toHaveProperty("context");
    // through the chat template the same prompt is a user message, answered from the start
    expect((await generate({ model: "text", prompt: "The quick brown" })).response).toBe(SENTENCE);
  });

  test("raw with context puts the context's tokens first", async () => {
    const raw = await generate({ model: "text", prompt: " brown", raw: true, context: [vocab.id("The"), vocab.id(" quick")] });
    expect(raw.response).toBe(SENTENCE.slice("The quick brown".length));
    expect(raw.prompt_eval_count).toBe(3);
  });

  test("suffix needs a model with the insert capability", async () => {
    const { status, body } = await json(url, { model: "text", prompt: "def f():", suffix: "    return x" });
    expect(status).toBe(400);
    expect(body).toEqual({ error: "text does not support insert", request_id: expect.any(String) });
  });

  test("images are a 400: no model has vision", async () => {
    const { status, body } = await json(url, { model: "text", prompt: "What is this?", images: ["aGVsbG8="] });
    expect(status).toBe(400);
    expect(body).toEqual({ error: "text does not support image input", request_id: expect.any(String) });
  });
});

describe("template", () => {
  const goTemplate = "{{ if .System }}<tool_response>{{ .System }}</tool_response>{{ end }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n{{ .Response }}<|im_end|>";

  test("a Go template with .System, .Prompt, .Response and if/end is rendered and answered", async () => {
    const withSystem = await generate({ model: "tool", template: goTemplate, system: "sunny" });
    expect(withSystem.response).toBe(SCRIPTED.tool.answer);
    expect(withSystem.context.length).toBeGreaterThan(withSystem.prompt_eval_count);
    // without a system message the if leaves the <tool_response> out
    expect((await generate({ model: "tool", template: goTemplate })).response).toBe(SCRIPTED.tool.raw);
  });

  test("trim markers remove the whitespace beside them", async () => {
    const trimmed = "<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n   {{- .Response }}";
    const spaced = trimmed.replace("{{- ", "{{ ");
    const [a, b] = [await generate({ model: "text", template: trimmed }), await generate({ model: "text", template: spaced })];
    expect(b.prompt_eval_count).toBeGreaterThan(a.prompt_eval_count);
  });

  test("a Jinja chat template is used instead of the model's", async () => {
    const template =
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.role == 'user' %}" + TOOL_RESPONSE +
      "{{ m.content }}{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    expect((await generate({ model: "tool", template })).response).toBe(SCRIPTED.tool.answer);
  });

  test("a Go template beyond the subset is a 400 naming template", async () => {
    const { status, body } = await json(url, { model: "text", prompt: "x", template: "{{ range .Messages }}{{ .Content }}{{ end }}" });
    expect(status).toBe(400);
    expect(body.error).toStartWith("template: {{ range .Messages }} is not supported");
  });

  test("a Jinja template that would run without end is a 400 naming template, and the server answers meanwhile", async () => {
    const health = async () => {
      const started = performance.now();
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      return performance.now() - started;
    };
    const templates = {
      // A billion numbers asked for at once; ten billion steps, each allowed.
      range: "{% for x in range(999999999) %}x{% endfor %}",
      loops: "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}{{ messages[0].content }}",
    };
    for (const [name, template] of Object.entries(templates)) {
      const started = performance.now();
      const answer = json(url, { model: "text", prompt: "x", template, stream: false });
      await Bun.sleep(50);
      const healthMs = await health();
      const { status, body } = await answer;
      expect({ name, status, error: body.error }).toEqual({ name, status: 400, error: expect.stringMatching(/^template cannot be used as a Jinja chat template: /) });
      expect(performance.now() - started).toBeLessThan(5_000);
      // Held for at most the template's budget (2 s), not for the ten billion steps.
      expect(healthMs).toBeLessThan(4_000);
    }
  });
});

describe("options and format", () => {
  test("options null is no options, as Ollama reads it", async () => {
    const res = await fetch(url, { method: "POST", body: JSON.stringify({ model: "text", prompt: "Foxes?", options: null, stream: false }) });
    expect(res.status).toBe(200);
    expect((await res.json()).response).toBe(SENTENCE);
  });

  test("num_predict cuts the answer: done_reason length, eval_count n, on both paths", async () => {
    for (const raw of [false, true]) {
      const response = await generate({ model: "text", prompt: raw ? "The" : "Foxes?", raw, options: { num_predict: 2 } });
      expect(response.done_reason).toBe("length");
      expect(response.eval_count).toBe(2);
    }
  });

  test("stop ends a raw answer before the stop text", async () => {
    expect((await generate({ model: "text", prompt: "The", raw: true, options: { stop: [" jumps"] } })).response).toBe(" quick brown fox");
  });

  test("seed makes raw sampling reproducible", async () => {
    const sampled = (seed: number) => generate({ model: "tiny", prompt: "Once", raw: true, options: { temperature: 1.5, seed, num_predict: 16 } });
    expect((await sampled(5)).response).toBe((await sampled(5)).response);
    expect((await sampled(6)).response).not.toBe((await sampled(5)).response);
  });

  test("format holds on both paths: a schema through the template, json on a raw prompt", async () => {
    const ajv = new Ajv({ strict: false });
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
    const templated = await generate({ model: "tiny", format: schema, options: { temperature: 1, seed: 1, num_predict: 200 } });
    expect(ajv.validate(schema, JSON.parse(templated.response))).toBe(true);
    // The random model closes its JSON early for some seeds; which ones depends on the CPU's
    // arithmetic and the attention kernel, so take the first that does.
    let options = { temperature: 1, seed: 0, num_predict: 300 };
    let raw: Answer | undefined;
    for (let seed = 1; seed <= 20 && raw?.done_reason !== "stop"; seed++) {
      options = { ...options, seed };
      raw = await generate({ model: "tiny", prompt: "Once", raw: true, format: "json", options });
    }
    expect(raw?.done_reason).toBe("stop");
    expect(() => JSON.parse(raw!.response)).not.toThrow();
    const free = await generate({ model: "tiny", prompt: "Once", raw: true, options });
    expect(() => JSON.parse(free.response)).toThrow();
  });

  test("logprobs on a raw prompt: one entry per token", async () => {
    const response = (await generate({ model: "text", prompt: "The", raw: true, logprobs: true, top_logprobs: 1 })) as Answer & { logprobs: any[] };
    expect(response.logprobs.map((l) => l.token).join("")).toBe(response.response);
    expect(response.logprobs.every((l) => l.top_logprobs?.length === 1 && l.logprob <= 0)).toBe(true);
  });

  test("keep_alive that is not a duration is a 400 naming it", async () => {
    const { status, body } = await json(url, { model: "text", prompt: "x", keep_alive: "soon" });
    expect(status).toBe(400);
    expect(body.error).toStartWith("keep_alive: invalid duration");
  });
});
