import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequest } from "../../src/cli/client/create-request.ts";
import { ModelfileError, parseModelfile } from "../../src/cli/client/modelfile.ts";
import { parameterValue } from "../../src/cli/client/parameters.ts";

describe("parseModelfile (Ollama's parser)", () => {
  test("every instruction, case-insensitive, with comments", () => {
    const text = [
      "# a comment",
      "FROM llama3.2",
      "adapter ./lora.gguf",
      "License MIT",
      "PARAMETER temperature 0.7",
      "PARAMETER stop <|im_end|>",
      "SYSTEM You are a pirate.  ",
      'TEMPLATE """{{ if .System }}<|im_start|>system',
      '{{ .System }}<|im_end|>{{ end }}"""',
      "MESSAGE user Is Toronto in Canada?",
      'MESSAGE assistant "yes, it is"',
      "RENDERER qwen3",
      "PARSER qwen3",
      "REQUIRES 0.12.0",
    ].join("\n");
    expect(parseModelfile(text)).toEqual([
      { name: "model", args: "llama3.2" },
      { name: "adapter", args: "./lora.gguf" },
      { name: "license", args: "MIT" },
      { name: "parameter", parameter: "temperature", args: "0.7" },
      { name: "parameter", parameter: "stop", args: "<|im_end|>" },
      { name: "system", args: "You are a pirate." },
      { name: "template", args: "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>{{ end }}" },
      { name: "message", role: "user", args: "Is Toronto in Canada?" },
      { name: "message", role: "assistant", args: "yes, it is" },
      { name: "renderer", args: "qwen3" },
      { name: "parser", args: "qwen3" },
      { name: "requires", args: "0.12.0" },
    ]);
  });

  test("quotes: single quotes span lines too, inner spaces stay, tabs and runs of spaces stay", () => {
    expect(parseModelfile('FROM x\nSYSTEM "You are\na pirate"\n')[1]).toEqual({ name: "system", args: "You are\na pirate" });
    expect(parseModelfile('FROM x\nSYSTEM """ spaced """')[1]).toEqual({ name: "system", args: " spaced " });
    expect(parseModelfile("FROM x\nSYSTEM a\tb  c")[1]).toEqual({ name: "system", args: "a\tb  c" });
    expect(parseModelfile('FROM x\nPARAMETER stop "<|im_start|>"')[1]).toEqual({ name: "parameter", parameter: "stop", args: "<|im_start|>" });
  });

  test("Windows line endings and a byte order mark", () => {
    expect(parseModelfile("\uFEFFFROM x\r\nSYSTEM hi\r\n")).toEqual([
      { name: "model", args: "x" },
      { name: "system", args: "hi" },
    ]);
  });

  test("errors name the line, as Ollama's do", () => {
    const error = (text: string) => {
      try {
        parseModelfile(text);
      } catch (err) {
        expect(err).toBeInstanceOf(ModelfileError);
        return (err as Error).message;
      }
      throw new Error("parsed");
    };
    expect(error("FROM x\nMESSAGE bogus hi\n")).toBe('(line 2): message role must be one of "system", "user", or "assistant"');
    expect(error("FROM x\nFOO bar\n")).toStartWith('(line 2): command must be one of "from", "license"');
    expect(error("SYSTEM hi\n")).toBe("no FROM line");
    expect(error('FROM x\nSYSTEM """never closed\n')).toBe("unexpected EOF");
    expect(error("FROM x\nPARAMETER st-op x\n")).toBe("unexpected EOF: st");
  });
});

describe("parameterValue (Ollama's FormatParams)", () => {
  test("typed as the API takes them", () => {
    expect(parameterValue("temperature", ["0.7"])).toBe(0.7);
    expect(parameterValue("num_ctx", ["4096"])).toBe(4096);
    expect(parameterValue("seed", ["-1"])).toBe(-1);
    expect(parameterValue("use_mmap", ["false"])).toBe(false);
    expect(parameterValue("stop", ["a", "b"])).toEqual(["a", "b"]);
  });
  test("unknown names and bad values fail with Ollama's messages", () => {
    expect(() => parameterValue("temprature", ["1"])).toThrow("unknown parameter 'temprature'");
    expect(() => parameterValue("num_ctx", ["1.5"])).toThrow("invalid int value [1.5]");
    expect(() => parameterValue("top_p", ["high"])).toThrow("invalid float value [high]");
    expect(() => parameterValue("use_mmap", ["yes"])).toThrow("invalid bool value [yes]");
  });
});

describe("createRequest", () => {
  let dir: string;
  let digest: string;
  const GGUF = "GGUF fake weights";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hearth-modelfile-"));
    await mkdir(join(dir, "weights"));
    await writeFile(join(dir, "weights", "model.gguf"), GGUF);
    digest = `sha256:${createHash("sha256").update(GGUF).digest("hex")}`;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const build = async (text: string) => {
    const warnings: string[] = [];
    const { request, uploads } = await createRequest(parseModelfile(text), dir, (w) => warnings.push(w));
    return { request, uploads, warnings };
  };

  test("FROM a local file: resolved against the Modelfile's folder, named by its file name and digest", async () => {
    const { request, uploads } = await build("FROM ./weights/model.gguf\n");
    expect(request).toEqual({ files: { "model.gguf": digest } });
    expect(uploads).toEqual([{ path: join(dir, "weights", "model.gguf"), digest, size: GGUF.length }]);
  });

  test("FROM a folder: its GGUF files", async () => {
    expect((await build("FROM weights\n")).request).toEqual({ files: { "model.gguf": digest } });
  });

  test("FROM a name that is no file: a model to build on; the other instructions typed and gathered", async () => {
    const { request, uploads, warnings } = await build(
      [
        "FROM qwen3:0.6b",
        "PARAMETER temperature 0.2",
        "PARAMETER stop <|im_end|>",
        "PARAMETER stop <|endoftext|>",
        "PARAMETER num_ctx 8192",
        "PARAMETER mirostat 1",
        "SYSTEM Be brief.",
        "TEMPLATE {{ .Prompt }}",
        "LICENSE MIT",
        "LICENSE Apache-2.0",
        "MESSAGE user Hi",
        "MESSAGE assistant Hello",
      ].join("\n"),
    );
    expect(request).toEqual({
      from: "qwen3:0.6b",
      parameters: { temperature: 0.2, stop: ["<|im_end|>", "<|endoftext|>"], num_ctx: 8192 },
      system: "Be brief.",
      template: "{{ .Prompt }}",
      license: ["MIT", "Apache-2.0"],
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
      ],
    });
    expect(uploads).toEqual([]);
    expect(warnings).toEqual(["warning: parameter mirostat is deprecated"]);
  });

  test("ADAPTER: a local file uploaded like the model's", async () => {
    const { request } = await build("FROM qwen3\nADAPTER weights/model.gguf\n");
    expect(request).toEqual({ from: "qwen3", adapters: { "model.gguf": digest } });
  });

  test("mistakes fail before anything is sent", async () => {
    await expect(build("FROM qwen3\nPARAMETER temperature hot\n")).rejects.toThrow("invalid float value [hot]");
    await expect(build("FROM qwen3\nPARAMETER nonsense 1\n")).rejects.toThrow("unknown parameter 'nonsense'");
    await expect(build("FROM qwen3\nADAPTER missing.gguf\n")).rejects.toThrow("ADAPTER missing.gguf: no such file or folder");
    await expect(build("FROM qwen3\nREQUIRES soon\n")).rejects.toThrow("requires must be a valid semver");
  });
});
