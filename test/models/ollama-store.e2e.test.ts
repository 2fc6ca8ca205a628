import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { ensureModel } from "../../scripts/gen-model.ts";
import { snapshot, writeOllamaModel } from "../support/ollama-store.ts";
import { startServer, type TestServer } from "../support/server.ts";

/** An Ollama installation's store, served read-only beside a models folder holding one plain file. */
let root: string;
let ollamaStore: string;
let models: string;
let server: TestServer;
let before: Record<string, string>;
let textyDigest: string;

const SYSTEM = "You are terse.";
const MESSAGES = [
  { role: "user", content: "hi" },
  { role: "assistant", content: "hello" },
];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hearth-ollama-store-"));
  ollamaStore = join(root, "ollama");
  models = join(root, "models");
  await mkdir(models);
  await symlink(await ensureModel("plain"), join(models, "plain.gguf"));
  const text = await ensureModel("text");
  ({ manifestDigest: textyDigest } = await writeOllamaModel(ollamaStore, { model: "texty" }, {
    model: text,
    system: SYSTEM,
    template: "{{ .System }} {{ .Prompt }}",
    params: { num_predict: 3, temperature: 0, stop: ["zzz", "qqq"] },
    license: "Texty license",
    messages: MESSAGES,
  }));
  await writeOllamaModel(ollamaStore, { host: "127.0.0.1:5000", model: "ported", tag: "v1" }, { model: await ensureModel("tiny") });
  await writeOllamaModel(ollamaStore, { host: "hf.co", namespace: "someone", model: "Repo-GGUF", tag: "Q4_K_M" }, { model: text });
  // A pull Ollama never finished: a manifest whose model blob is missing is skipped, not an error.
  const broken = await writeOllamaModel(ollamaStore, { model: "broken" }, { model: await ensureModel("think") });
  const manifest = await Bun.file(broken.manifestPath).json();
  await rm(join(ollamaStore, "blobs", manifest.layers[0].digest.replace(":", "-")));
  before = await snapshot(ollamaStore);
  server = await startServer({ models, args: ["--ollama-models", ollamaStore, "--ctx-size", "512", "--parallel", "1"] });
});

afterAll(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

async function post(path: string, body: unknown, method = "POST") {
  const res = await fetch(`${server.url}${path}`, { method, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const chat = (model: string, messages: unknown[], options: Record<string, unknown> = {}) =>
  post("/api/chat", { model, messages, stream: false, options: { temperature: 0, ...options } });

describe("serving an Ollama store read-only", () => {
  test("/api/tags lists its models by Ollama's names, with the manifest digest and the layers' size", async () => {
    const { json } = await post("/api/tags", undefined, "GET");
    const names = json.models.map((m: { name: string }) => m.name).sort();
    expect(names).toEqual(["127.0.0.1:5000/library/ported:v1", "hf.co/someone/Repo-GGUF:Q4_K_M", "plain:latest", "texty:latest"]);
    const texty = json.models.find((m: { name: string }) => m.name === "texty:latest");
    expect(texty.digest).toBe(textyDigest);
    const manifest = await Bun.file(join(ollamaStore, "manifests/registry.ollama.ai/library/texty/latest")).json();
    const size = [manifest.config, ...manifest.layers].reduce((sum: number, l: { size: number }) => sum + l.size, 0);
    expect(texty.size).toBe(size);
    expect(texty.details.family).toBe("qwen3");
    expect(server.output()).toContain("skipping");
  });

  test("OpenAI's model list has them too", async () => {
    const ids = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id).sort();
    expect(ids).toEqual(["127.0.0.1:5000/library/ported:v1", "hf.co/someone/Repo-GGUF:Q4_K_M", "plain", "texty"]);
  });

  test("/api/show shows the template, system, parameters, license and messages layers", async () => {
    const { status, json } = await post("/api/show", { model: "texty" });
    expect(status).toBe(200);
    expect(json.system).toBe(SYSTEM);
    expect(json.template).toBe("{{ .System }} {{ .Prompt }}");
    expect(json.license).toBe("Texty license");
    expect(json.messages).toEqual(MESSAGES);
    expect(json.parameters).toBe(
      [`num_predict${" ".repeat(20)}3`, `temperature${" ".repeat(20)}0`, `stop${" ".repeat(27)}"zzz"`, `stop${" ".repeat(27)}"qqq"`].join("\n"),
    );
    expect(json.modelfile).toContain(`FROM ${join(ollamaStore, "blobs")}/sha256-`);
    expect(json.modelfile).toContain(`SYSTEM """${SYSTEM}"""`);
    expect(json.modelfile).toContain("PARAMETER stop zzz\nPARAMETER stop qqq");
    expect(json.modelfile).toContain("MESSAGE user hi\nMESSAGE assistant hello");
  });

  test("names match as Ollama matches them: defaults filled in, any letter case", async () => {
    for (const name of ["TEXTY:LATEST", "registry.ollama.ai/library/texty", "library/texty:latest", "127.0.0.1:5000/library/ported:V1", "hf.co/someone/repo-gguf:q4_k_m"]) {
      expect((await post("/api/show", { model: name })).status).toBe(200);
    }
    expect((await post("/api/show", { model: "127.0.0.1:5001/library/ported:v1" })).status).toBe(404);
  });

  test("the stored system prompt, conversation and parameters apply, and a request's own options win", async () => {
    const stored = await chat("texty", [{ role: "user", content: "x" }]);
    expect(stored.status).toBe(200);
    // The same prompt spelled out to the same weights without layers: the stored ones were placed first.
    const spelled = await chat("hf.co/someone/Repo-GGUF:Q4_K_M", [{ role: "system", content: SYSTEM }, ...MESSAGES, { role: "user", content: "x" }], { num_predict: 3 });
    expect(stored.json.prompt_eval_count).toBe(spelled.json.prompt_eval_count);
    expect(stored.json.eval_count).toBe(3);
    expect(stored.json.done_reason).toBe("length");
    expect(stored.json.message.content).toBe(spelled.json.message.content);

    const own = await chat("texty", [{ role: "system", content: "Mine." }, { role: "user", content: "x" }], { num_predict: 5 });
    const ownSpelled = await chat("hf.co/someone/Repo-GGUF:Q4_K_M", [...MESSAGES, { role: "system", content: "Mine." }, { role: "user", content: "x" }], { num_predict: 5 });
    expect(own.json.eval_count).toBe(5);
    expect(own.json.prompt_eval_count).toBeLessThan(stored.json.prompt_eval_count + 10);
    expect(own.json.prompt_eval_count).toBe(ownSpelled.json.prompt_eval_count);
  });

  test("OpenAI chat completions inherit the stored parameters and system prompt too", async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none" });
    const stored = await openai.chat.completions.create({ model: "texty", messages: [{ role: "user", content: "x" }] });
    expect(stored.choices[0]!.finish_reason).toBe("length");
    expect(stored.usage!.completion_tokens).toBe(3);
    const spelled = await openai.chat.completions.create({
      model: "hf.co/someone/Repo-GGUF:Q4_K_M",
      max_tokens: 3,
      temperature: 0,
      messages: [{ role: "system", content: SYSTEM }, ...(MESSAGES as Array<{ role: "user" | "assistant"; content: string }>), { role: "user", content: "x" }],
    });
    expect(stored.usage!.prompt_tokens).toBe(spelled.usage!.prompt_tokens);
    expect(stored.choices[0]!.message.content).toBe(spelled.choices[0]!.message.content);
    const longer = await openai.chat.completions.create({ model: "texty", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
    expect(longer.usage!.completion_tokens).toBe(5);
  });

  test("deleting from Ollama's store is refused: Hearth never writes there", async () => {
    const { status, json } = await post("/api/delete", { model: "texty" }, "DELETE");
    expect(status).toBe(400);
    expect(json.error).toContain("read");
    expect((await post("/api/show", { model: "texty" })).status).toBe(200);
  });

  test("a copy lands in Hearth's store, its blobs linked rather than copied, and can be deleted again", async () => {
    expect((await post("/api/copy", { source: "texty", destination: "mine/texty:v1" })).status).toBe(200);
    const manifest = await Bun.file(join(models, "manifests/registry.ollama.ai/mine/texty/v1")).json();
    for (const layer of [manifest.config, ...manifest.layers]) {
      const name = layer.digest.replace(":", "-");
      const [copied, original] = await Promise.all([stat(join(models, "blobs", name)), stat(join(ollamaStore, "blobs", name))]);
      expect(copied.ino).toBe(original.ino);
    }
    const shown = await post("/api/show", { model: "mine/texty:v1" });
    expect(shown.json.system).toBe(SYSTEM);
    const answer = await chat("mine/texty:v1", [{ role: "user", content: "x" }]);
    expect(answer.json.eval_count).toBe(3);

    expect((await post("/api/delete", { model: "mine/texty:v1" }, "DELETE")).status).toBe(200);
    expect(await readdir(join(models, "blobs"))).toEqual([]);
    expect((await post("/api/show", { model: "mine/texty:v1" })).status).toBe(404);
  });

  test("nothing in Ollama's store was written", async () => {
    expect(await snapshot(ollamaStore)).toEqual(before);
  });
});

describe("where the Ollama store is found", () => {
  const listed = async (env: Record<string, string | undefined>, args: string[] = []) => {
    const models = await mkdtemp(join(tmpdir(), "hearth-empty-models-"));
    const started = await startServer({ models, env: env as Record<string, string>, args });
    try {
      const tags = (await (await fetch(`${started.url}/api/tags`)).json()) as { models: Array<{ name: string }> };
      return tags.models.map((m) => m.name).sort();
    } finally {
      await started.stop();
      await rm(models, { recursive: true, force: true });
    }
  };

  test("~/.ollama/models when it exists, OLLAMA_MODELS over it, and off for none", async () => {
    const home = await mkdtemp(join(tmpdir(), "hearth-home-"));
    try {
      await writeOllamaModel(join(home, ".ollama", "models"), { model: "in-home" }, { model: await ensureModel("tiny") });
      const base = { ...process.env, HOME: home, OLLAMA_MODELS: undefined, HEARTH_OLLAMA_MODELS: undefined };
      expect(await listed(base)).toEqual(["in-home:latest"]);
      expect(await listed({ ...base, OLLAMA_MODELS: ollamaStore })).toContain("texty:latest");
      expect(await listed(base, ["--ollama-models", "off"])).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

