import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { Ollama } from "ollama";
import { ensureModel, getSmallVocab, SCRIPTED, TEXT_EXPECTED } from "../../../scripts/gen-model.ts";
import { startServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
let ollama: Ollama;
/** The parent of the models folder: nothing may ever be written here. */
let outside: string;
let models: string;

/** Real copies, not links: copy and delete change this folder. Oldest first: tiny, text, think. */
beforeAll(async () => {
  outside = await mkdtemp(join(tmpdir(), "hearth-ollama-models-"));
  models = join(outside, "models");
  await mkdir(models);
  for (const [i, preset] of (["tiny", "text", "think"] as const).entries()) {
    const file = join(models, `${preset}.gguf`);
    await copyFile(await ensureModel(preset), file);
    const time = new Date(Date.UTC(2026, 0, 1 + i));
    await utimes(file, time, time);
  }
  server = await startServer({ models, args: ["--ctx-size", "256", "--parallel", "1"] });
  ollama = new Ollama({ host: server.url });
});

afterAll(async () => {
  await server?.stop();
  await rm(outside, { recursive: true, force: true });
});

const sha256 = async (path: string) => new Bun.CryptoHasher("sha256").update(await Bun.file(path).arrayBuffer()).digest("hex");

async function post(path: string, body: unknown, method = "POST"): Promise<{ status: number; text: string; json: any }> {
  // No content type, as curl -d sends it in Ollama's docs: the body is JSON all the same.
  const res = await fetch(`${server.url}${path}`, { method, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

async function chat(model: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], temperature: 0, max_tokens: 16 }),
  });
  expect(res.status).toBe(200);
  return (await res.json()).choices[0].message.content;
}

async function listedNames(): Promise<string[]> {
  return (await ollama.list()).models.map((m) => m.name);
}

describe("probes", () => {
  test("GET / says Hearth is running, as text", async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain");
    expect(await res.text()).toBe("Hearth is running");
  });

  test.each(["/", "/api/version", "/api/tags"])("HEAD %s answers 200 with the GET's headers and no body", async (path) => {
    const [head, get] = await Promise.all([fetch(server.url + path, { method: "HEAD" }), fetch(server.url + path)]);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
    expect(await head.text()).toBe("");
  });

  test("the version is the Ollama API release Hearth implements, as semver", async () => {
    expect(await ollama.version()).toEqual({ version: "0.12.11" });
  });
});

describe("GET /api/tags", () => {
  test("every model, newest first, named name:tag with size, modification time and digest of its file", async () => {
    const { models: listed } = await ollama.list();
    expect(listed.map((m) => m.name)).toEqual(["think:latest", "text:latest", "tiny:latest"]);
    for (const m of listed) {
      const file = join(models, `${m.name.split(":")[0]}.gguf`);
      expect(m.model).toBe(m.name);
      expect(m.size).toBe((await stat(file)).size);
      expect(new Date(m.modified_at).toISOString()).toBe((await stat(file)).mtime.toISOString());
      expect(m.digest).toBe(await sha256(file));
    }
  });

  test("details as Ollama writes them, from the GGUF header", async () => {
    const body = await (await fetch(`${server.url}/api/tags`)).json();
    const byName = Object.fromEntries(body.models.map((m: any) => [m.name, m]));
    expect(byName["tiny:latest"].details).toEqual({
      parent_model: "",
      format: "gguf",
      family: "qwen3",
      families: ["qwen3"],
      parameter_size: "180K",
      quantization_level: "Q8_0",
      context_length: 32768,
      embedding_length: 64,
    });
    expect(byName["text:latest"].details).toMatchObject({ parameter_size: "155K", quantization_level: "F16" });
    expect(byName["text:latest"].capabilities).toEqual(["completion", "tools", "thinking"]);
  });
});

describe("POST /api/show", () => {
  test("template, details, capabilities and the GGUF key/values; long arrays only with verbose", async () => {
    const info = await readGgufFileInfo(join(models, "tiny.gguf"), { logWarnings: false });
    const shown = await ollama.show({ model: "tiny" });
    expect(shown.template).toBe(info.metadata.tokenizer!.chat_template!);
    expect(shown.details).toMatchObject({ family: "qwen3", parameter_size: "180K", quantization_level: "Q8_0" });
    expect(shown.capabilities).toEqual(["completion", "tools", "thinking"]);
    expect(shown.license).toBe("");
    expect(shown.system).toBe("");
    expect(new Date(shown.modified_at).toISOString()).toBe((await stat(join(models, "tiny.gguf"))).mtime.toISOString());

    const modelInfo = shown.model_info as unknown as Record<string, unknown>;
    expect(modelInfo).toMatchObject({
      "general.architecture": "qwen3",
      "general.file_type": 7,
      "general.parameter_count": 179712,
      "qwen3.context_length": 32768,
      "qwen3.embedding_length": 64,
      "qwen3.attention.head_count": 4,
      // float32 written as the number it stands for, not its float64 expansion
      "qwen3.attention.layer_norm_rms_epsilon": 0.000001,
      "tokenizer.ggml.eos_token_id": 801,
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.tokens": [],
      "tokenizer.ggml.merges": [],
    });
    expect(Object.keys(modelInfo)).toEqual(Object.keys(modelInfo).toSorted());
    // The name is the request's and the template has its own field.
    expect(modelInfo).not.toContainKey("general.name");
    expect(modelInfo).not.toContainKey("tokenizer.chat_template");
    expect(shown).not.toContainKey("tensors");

    const verbose = await post("/api/show", { model: "tiny:latest", verbose: true });
    expect(verbose.json.model_info["tokenizer.ggml.tokens"]).toEqual(getSmallVocab().tokens);
    expect(verbose.json.tensors).toContainEqual({ name: "token_embd.weight", type: "F16", shape: [64, getSmallVocab().tokens.length] });
    expect(verbose.json.tensors).toHaveLength(info.tensorInfo!.length);
  });

  test("parameters and a Modelfile that rebuilds the model from its file", async () => {
    const shown = await ollama.show({ model: "tiny" });
    // Ollama's format: the name padded to 30 columns, the value as Go's %#v
    expect(shown.parameters).toBe(`stop${" ".repeat(27)}"<|im_end|>"`);
    expect(shown.modelfile).toBe(
      [
        "# Modelfile generated by Hearth",
        "# To build a new Modelfile based on this, replace FROM with:",
        "# FROM tiny:latest",
        "",
        `FROM ${join(models, "tiny.gguf")}`,
        "PARAMETER stop <|im_end|>",
        "",
      ].join("\n"),
    );
  });

  test("the deprecated name field works too", async () => {
    const { status, json } = await post("/api/show", { name: "text" });
    expect(status).toBe(200);
    expect(json.details.parameter_size).toBe("155K");
  });

  test.each([
    ["no model", {}, 400, "model is required"],
    ["an unknown model", { model: "nope" }, 404, 'model "nope" not found, try pulling it first'],
    ["verbose of the wrong type", { model: "tiny", verbose: "yes" }, 400, "verbose"],
  ])("%s", async (_label, body, status, message) => {
    const res = await post("/api/show", body);
    expect(res.status).toBe(status);
    expect(res.json.error).toContain(message);
  });
});

describe("POST /api/copy", () => {
  test("writes a real copy at the path the name maps to; it is listed and answers", async () => {
    const res = await post("/api/copy", { source: "text", destination: "backup:v1" });
    expect(res).toMatchObject({ status: 200, text: "" });
    const file = join(models, "backup", "v1.gguf");
    expect((await stat(file)).isFile()).toBe(true);
    expect(await sha256(file)).toBe(await sha256(join(models, "text.gguf")));
    const listed = (await ollama.list()).models.find((m) => m.name === "backup:v1")!;
    expect(listed.digest).toBe(await sha256(file));
    expect(await chat("backup:v1")).toBe(TEXT_EXPECTED.text);
  });

  test("names map like the catalog names files: x:latest is x.gguf, a namespace without a tag is latest.gguf", async () => {
    await ollama.copy({ source: "tiny", destination: "second:latest" });
    await ollama.copy({ source: "tiny:latest", destination: "org/third" });
    expect((await stat(join(models, "second.gguf"))).isFile()).toBe(true);
    expect((await stat(join(models, "org", "third", "latest.gguf"))).isFile()).toBe(true);
    expect(await listedNames()).toEqual(expect.arrayContaining(["second:latest", "org/third:latest"]));
    expect((await ollama.show({ model: "org/third:latest" })).details.parameter_size).toBe("180K");
  });

  test("a copy replaces the model of that name, and the listing's digest follows the new file", async () => {
    await ollama.copy({ source: "text", destination: "scratch" });
    expect(await chat("scratch")).toBe(TEXT_EXPECTED.text);
    await ollama.copy({ source: "think", destination: "scratch" });
    const listed = (await ollama.list()).models.find((m) => m.name === "scratch:latest")!;
    expect(listed.digest).toBe(await sha256(join(models, "think.gguf")));
    // the loaded copy of the old file was unloaded: the new weights answer
    expect(await chat("scratch")).toBe(SCRIPTED.think.content);
  });

  test("a copy onto its own file changes nothing and keeps the model loaded", async () => {
    expect(await chat("text")).toBe(TEXT_EXPECTED.text);
    await ollama.copy({ source: "text", destination: "text:latest" });
    expect((await ollama.ps()).models.map((m) => m.name)).toContain("text:latest");
    expect(await chat("text")).toBe(TEXT_EXPECTED.text);
  });

  test.each(["../evil", "../../evil", "a/../../evil", "/tmp/evil", "a\\..\\evil", "x:../evil", "a//b", "x:", ":tag", ".hidden", ""])(
    "destination %p is a 400 naming it, and nothing is written",
    async (destination) => {
      const before = (await readdir(outside, { recursive: true })).sort();
      const res = await post("/api/copy", { source: "tiny", destination });
      expect(res.status).toBe(400);
      expect(res.json.error).toStartWith(`invalid destination "${destination}"`);
      expect((await readdir(outside, { recursive: true })).sort()).toEqual(before);
    },
  );

  test("an unknown source is a 404", async () => {
    const res = await post("/api/copy", { source: "nope", destination: "other" });
    expect(res).toMatchObject({ status: 404, json: { error: 'model "nope" not found, try pulling it first' } });
  });

  test("a missing destination is a 400 naming it", async () => {
    const res = await post("/api/copy", { source: "tiny" });
    expect(res.status).toBe(400);
    expect(res.json.error).toContain("destination");
  });
});

describe("DELETE /api/delete", () => {
  test("removes the file (and the folder its name made) and the model is gone", async () => {
    await ollama.copy({ source: "tiny", destination: "doomed:v1" });
    // the ollama client sends the deprecated name field
    await ollama.delete({ model: "doomed:v1" });
    expect(await readdir(models)).not.toContain("doomed");
    expect(await listedNames()).not.toContain("doomed:v1");
    expect((await post("/api/show", { model: "doomed:v1" })).status).toBe(404);
    const again = await post("/api/delete", { model: "doomed:v1" }, "DELETE");
    expect(again).toMatchObject({ status: 404, json: { error: 'model "doomed:v1" not found, try pulling it first' } });
  });

  test("answers 200 with an empty body, as Ollama does", async () => {
    await ollama.copy({ source: "tiny", destination: "gone" });
    expect(await post("/api/delete", { model: "gone:latest" }, "DELETE")).toMatchObject({ status: 200, text: "" });
    expect(await readdir(models)).not.toContain("gone.gguf");
  });

  test("a loaded model is unloaded: a new file under its name answers with its own weights", async () => {
    await ollama.copy({ source: "text", destination: "victim" });
    expect(await chat("victim")).toBe(TEXT_EXPECTED.text);
    await ollama.delete({ model: "victim" });
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "victim", messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(res.status).toBe(404);
    await ollama.copy({ source: "think", destination: "victim" });
    expect(await chat("victim")).toBe(SCRIPTED.think.content);
  });

  test("no model is a 400", async () => {
    expect(await post("/api/delete", {}, "DELETE")).toMatchObject({ status: 400, json: { error: "model is required" } });
  });

  test("the models folder's parent was never written to", async () => {
    expect(await readdir(outside)).toEqual(["models"]);
    expect(dirname(models)).toBe(outside);
  });
});
