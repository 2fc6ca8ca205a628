import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { ensureModel } from "../../../scripts/gen-model.ts";
import { modelsFolder } from "../../support/models.ts";
import { snapshot, writeOllamaModel } from "../../support/ollama-store.ts";
import { json, ndjson } from "../../support/ollama-wire.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let ollama: Ollama;
let models: string;
let ollamaStore: string;
let textDigest: string;

const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

beforeAll(async () => {
  models = await modelsFolder(["text", "tiny"]);
  ollamaStore = await mkdtemp(join(tmpdir(), "hearth-create-ollama-"));
  await writeOllamaModel(ollamaStore, { model: "fox" }, { model: await ensureModel("text"), system: "You are a fox.", params: { temperature: 0, num_predict: 3 } });
  textDigest = sha256(await readFile(await ensureModel("text")));
  server = await startServer({ models, args: ["--ctx-size", "256", "--parallel", "1", "--ollama-models", ollamaStore] });
  ollama = new Ollama({ host: server.url });
});

afterAll(async () => {
  await server?.stop();
  await rm(ollamaStore, { recursive: true, force: true });
});

const create = (body: Record<string, unknown>) => ndjson(`${server.url}/api/create`, body);
const manifestOf = async (model: string, tag = "latest") =>
  JSON.parse(await readFile(join(models, "manifests", "registry.ollama.ai", "library", model, tag), "utf8")) as { config: Layer; layers: Layer[] };
const blob = (digest: string) => readFile(join(models, "blobs", digest.replace(":", "-")), "utf8");
const blobNames = async () => (await readdir(join(models, "blobs")).catch(() => [])).sort();
interface Layer {
  mediaType: string;
  digest: string;
  size: number;
  from?: string;
}
const MT = "application/vnd.ollama.image.";

async function upload(bytes: Buffer<ArrayBuffer>): Promise<string> {
  const digest = sha256(bytes);
  const res = await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes });
  expect([200, 201]).toContain(res.status);
  return digest;
}

async function chat(model: string): Promise<{ content: string; promptTokens: number; evalCount: number }> {
  const res = await ollama.chat({ model, messages: [{ role: "user", content: "Hi" }] });
  return { content: res.message.content, promptTokens: res.prompt_eval_count, evalCount: res.eval_count };
}

describe("POST /api/create from a GGUF file in the models folder", () => {
  const request = {
    model: "mine",
    from: "text",
    template: "{{ .System }} <b>{{ .Prompt }}</b>",
    system: "You are a fox.",
    license: ["MIT", "Fox license"],
    parameters: { num_predict: 4, temperature: 0, stop: "<|im_end|>", use_mmap: true },
    messages: [
      { role: "user", content: "Who are you?" },
      { role: "assistant", content: "A fox." },
    ],
  };
  let lines: Array<{ status: string }>;

  beforeAll(async () => {
    lines = await create(request);
  });

  test("streams Ollama's status lines, in Ollama's order", async () => {
    const manifest = await manifestOf("mine");
    const kinds = manifest.layers.map((l) => l.mediaType.slice(MT.length));
    expect(kinds).toEqual(["model", "template", "system", "license", "license", "params", "messages"]);
    expect(manifest.layers[0]).toEqual({ mediaType: `${MT}model`, digest: textDigest, size: (await stat(await ensureModel("text"))).size, from: "text" });
    expect(lines).toEqual([
      { status: "parsing GGUF" },
      ...manifest.layers.map((l) => ({ status: `creating new layer ${l.digest}` })),
      { status: "writing manifest" },
      { status: "success" },
    ]);
  });

  test("the weights are linked into the blobs, never copied; the other layers hold what Ollama writes", async () => {
    const manifest = await manifestOf("mine");
    const weights = join(models, "blobs", textDigest.replace(":", "-"));
    expect((await stat(weights)).ino).toBe((await stat(await realpath(await ensureModel("text")))).ino);
    const [, template, system, mit, fox, params, messages] = manifest.layers.map((l) => l.digest);
    expect(await blob(template!)).toBe(request.template);
    expect(await blob(system!)).toBe(request.system);
    expect([await blob(mit!), await blob(fox!)]).toEqual(request.license);
    // Go's json.Encoder: sorted keys, HTML characters escaped, a closing newline; stop always a list.
    expect(await blob(params!)).toBe('{"num_predict":4,"stop":["\\u003c|im_end|\\u003e"],"temperature":0,"use_mmap":true}\n');
    expect(JSON.parse(await blob(messages!))).toEqual(request.messages);
    const config = JSON.parse(await blob(manifest.config.digest));
    expect(manifest.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    const shown = await ollama.show({ model: "mine" });
    expect(config).toMatchObject({ model_format: "gguf", model_family: shown.details.family, model_families: [shown.details.family], model_type: shown.details.parameter_size, file_type: shown.details.quantization_level, os: "linux" });
    expect(config.rootfs.diff_ids).toEqual(manifest.layers.map((l) => l.digest));
  });

  test("is listed, shown with its layers, and served with its system prompt and parameters by both APIs", async () => {
    const names = (await ollama.list()).models.map((m) => m.name);
    expect(names).toContain("mine:latest");
    const shown = await ollama.show({ model: "mine" });
    expect(shown.system).toBe(request.system);
    expect(shown.template).toBe(request.template);
    expect(shown.license).toBe("MIT\nFox license");
    expect(shown.parameters).toContain("num_predict");
    expect(shown.parameters).toContain("<|im_end|>");
    expect((shown as unknown as { messages: unknown }).messages).toEqual(request.messages);

    const base = await chat("text");
    const created = await chat("mine");
    expect(created.content).toBe("The quick brown fox");
    expect(created.evalCount).toBe(4);
    // The system prompt and the stored conversation come before the request's message.
    expect(created.promptTokens).toBeGreaterThan(base.promptTokens + 10);

    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none" });
    const completion = await openai.chat.completions.create({ model: "mine", messages: [{ role: "user", content: "Hi" }] });
    expect(completion.choices[0]!.message.content).toBe("The quick brown fox");
    expect(completion.usage!.prompt_tokens).toBe(created.promptTokens);
  });
});

describe("POST /api/create from a stored model", () => {
  test("reuses its layers, replaces the system prompt, merges the parameters (the request's win)", async () => {
    const base = await manifestOf("mine");
    const lines = await create({ model: "me/derived:v1", from: "mine", system: "You are a wolf.", parameters: { temperature: 0.5, num_ctx: 128 } });
    const manifest = JSON.parse(await readFile(join(models, "manifests", "registry.ollama.ai", "me", "derived", "v1"), "utf8")) as { layers: Layer[] };
    const kept = base.layers.filter((l) => !l.mediaType.endsWith("system") && !l.mediaType.endsWith("params"));
    expect(manifest.layers.slice(0, kept.length)).toEqual(kept.map((l) => ({ ...l, from: "mine:latest" })));
    const [system, params] = manifest.layers.slice(kept.length);
    expect(await blob(system!.digest)).toBe("You are a wolf.");
    expect(JSON.parse(await blob(params!.digest))).toEqual({ num_ctx: 128, num_predict: 4, stop: ["<|im_end|>"], temperature: 0.5, use_mmap: true });
    expect(lines.map((l) => l.status)).toEqual([
      ...kept.map((l) => `using existing layer ${l.digest}`),
      `creating new layer ${system!.digest}`,
      `creating new layer ${params!.digest}`,
      "writing manifest",
      "success",
    ]);
    const shown = await ollama.show({ model: "me/derived:v1" });
    expect(shown.system).toBe("You are a wolf.");
    expect(shown.template).toBe("{{ .System }} <b>{{ .Prompt }}</b>");
  });

  test("a model of Ollama's read-only store has its blobs linked in, and that store is left as it was", async () => {
    const before = await snapshot(ollamaStore);
    const res = await ollama.create({ model: "fox-copy", from: "fox", stream: false });
    expect(res.status).toBe("success");
    expect(await snapshot(ollamaStore)).toEqual(before);
    const manifest = await manifestOf("fox-copy");
    expect(manifest.layers[0]!.digest).toBe(textDigest);
    expect(await blob(manifest.layers[1]!.digest)).toBe("You are a fox.");
    const created = await chat("fox-copy");
    expect(created.evalCount).toBe(3);
  });

  test("replacing a model removes the blobs only its old version used", async () => {
    await create({ model: "replaced", from: "tiny", system: "first version" });
    const first = (await manifestOf("replaced")).layers.find((l) => l.mediaType.endsWith("system"))!;
    expect(await blobNames()).toContain(first.digest.replace(":", "-"));
    const lines = await create({ model: "replaced", from: "tiny", system: "second version" });
    expect(lines.at(-1)).toEqual({ status: "success" });
    expect(await blobNames()).not.toContain(first.digest.replace(":", "-"));
    expect((await ollama.show({ model: "replaced" })).system).toBe("second version");
  });
});

describe("POST /api/create from an uploaded GGUF", () => {
  test("files names the uploaded blob: the model is created from it and served", async () => {
    const digest = await upload(await readFile(await ensureModel("tiny")));
    const lines = await create({ model: "uploaded", files: { "tiny.gguf": digest } });
    expect(lines).toEqual([{ status: "parsing GGUF" }, { status: `using existing layer ${digest}` }, { status: "writing manifest" }, { status: "success" }]);
    const manifest = await manifestOf("uploaded");
    expect(manifest.layers).toEqual([{ mediaType: `${MT}model`, digest, size: (await stat(await ensureModel("tiny"))).size, from: "tiny.gguf" }]);
    const listed = (await ollama.list()).models.find((m) => m.name === "uploaded:latest");
    expect(listed?.details.format).toBe("gguf");
    const res = await ollama.generate({ model: "uploaded", prompt: "Hi", options: { num_predict: 2 } });
    expect(res.done).toBe(true);
  });
});

describe("a bad create request is a 4xx naming the field, and creates nothing", () => {
  let before: string[];
  beforeAll(async () => {
    before = await blobNames();
  });

  const refused = async (body: Record<string, unknown>, status = 400) => {
    const res = await json(`${server.url}/api/create`, body);
    expect(res.status).toBe(status);
    return res.body.error as string;
  };

  test("quantize, adapters and the removed modelfile", async () => {
    expect(await refused({ model: "q", from: "text", quantize: "q4_K_M" })).toContain("quantize");
    expect(await refused({ model: "q", from: "text", adapters: { "lora.gguf": sha256("x") } })).toContain("adapters");
    expect(await refused({ model: "q", modelfile: "FROM text" })).toContain("modelfile");
  });

  test("parameters: unknown names and wrong types", async () => {
    expect(await refused({ model: "q", from: "text", parameters: { temprature: 0.5 } })).toContain("parameters.temprature");
    for (const [name, value] of [["top_k", "forty"], ["top_k", 1.5], ["temperature", "hot"], ["stop", 5], ["stop", ["a", 1]], ["use_mmap", "yes"]] as const) {
      expect(await refused({ model: "q", from: "text", parameters: { [name]: value } })).toContain(`parameters.${name}`);
    }
    expect(await refused({ model: "q", from: "text", parameters: "temperature 1" })).toContain("parameters");
  });

  test("files: safetensors, not GGUF, never uploaded, a bad digest, a path out of the folder", async () => {
    const noise = await upload(randomBytes(1024));
    expect(await refused({ model: "q", files: { "model.safetensors": noise } })).toContain("safetensors");
    expect(await refused({ model: "q", files: { "model.gguf": noise } })).toContain("not in GGUF format");
    expect(await refused({ model: "q", files: { "model.gguf": sha256("never uploaded") } })).toContain("not found");
    expect(await refused({ model: "q", files: { "model.gguf": "sha256:abc" } })).toContain("files.model.gguf");
    expect(await refused({ model: "q", files: { "../model.gguf": noise } })).toContain("relative");
    before.push(noise.replace(":", "-"));
    before.sort();
  });

  test("names, from and messages", async () => {
    expect(await refused({ from: "text" })).toContain("model is required");
    expect(await refused({ model: "bad name!", from: "text" })).toContain("model");
    expect(await refused({ model: "q" })).toBe("neither 'from' or 'files' was specified");
    expect(await refused({ model: "q", from: "nothing-here" }, 404)).toContain("nothing-here");
    expect(await refused({ model: "text", from: "tiny" })).toContain("text.gguf");
    expect(await refused({ model: "q", from: "text", messages: [{ role: "tool", content: "x" }] })).toContain("messages[0].role");
  });

  test("none of them left a model or a blob", async () => {
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("q:latest");
    expect(await blobNames()).toEqual(before);
  });
});
