import { describe, expect, test } from "bun:test";
import { InvalidRequestError } from "../../src/errors.ts";
import { displayName, isHuggingFace, parseOllamaName, sameName } from "../../src/models/ollama-name.ts";
import { taggedModelName } from "../../src/models/naming.ts";

describe("Ollama model names", () => {
  test("defaults fill the host, namespace and tag, as Ollama's ParseName does", () => {
    expect(parseOllamaName("qwen3")).toEqual({ scheme: "https", host: "registry.ollama.ai", namespace: "library", model: "qwen3", tag: "latest" });
    expect(parseOllamaName("qwen3:0.6b")).toMatchObject({ host: "registry.ollama.ai", namespace: "library", model: "qwen3", tag: "0.6b" });
    expect(parseOllamaName("me/model:v2")).toMatchObject({ host: "registry.ollama.ai", namespace: "me", model: "model", tag: "v2" });
    expect(parseOllamaName("hf.co/bartowski/Qwen3-GGUF:Q4_K_M")).toMatchObject({ host: "hf.co", namespace: "bartowski", model: "Qwen3-GGUF", tag: "Q4_K_M" });
  });

  test("a host's port is not a tag: only a colon after the last slash is", () => {
    expect(parseOllamaName("127.0.0.1:5000/library/x")).toMatchObject({ host: "127.0.0.1:5000", namespace: "library", model: "x", tag: "latest" });
    expect(parseOllamaName("127.0.0.1:5000/library/x:v1")).toMatchObject({ host: "127.0.0.1:5000", model: "x", tag: "v1" });
    expect(parseOllamaName("http://localhost:8080/a/b:c")).toEqual({ scheme: "http", host: "localhost:8080", namespace: "a", model: "b", tag: "c" });
    expect(taggedModelName("127.0.0.1:5000/library/x")).toBe("127.0.0.1:5000/library/x:latest");
    expect(taggedModelName("127.0.0.1:5000/library/x:v1")).toBe("127.0.0.1:5000/library/x:v1");
  });

  test("names show in their shortest form and compare without regard to case", () => {
    expect(displayName(parseOllamaName("registry.ollama.ai/library/qwen3:0.6b"))).toBe("qwen3:0.6b");
    expect(displayName(parseOllamaName("registry.ollama.ai/me/m"))).toBe("me/m:latest");
    expect(displayName(parseOllamaName("127.0.0.1:5000/library/x:v1"))).toBe("127.0.0.1:5000/library/x:v1");
    expect(sameName(parseOllamaName("Qwen3:Q8_0"), parseOllamaName("registry.ollama.ai/library/qwen3:q8_0"))).toBe(true);
    expect(sameName(parseOllamaName("qwen3:a"), parseOllamaName("qwen3:b"))).toBe(false);
    expect(isHuggingFace(parseOllamaName("huggingface.co/u/r"))).toBe(true);
    expect(isHuggingFace(parseOllamaName("u/r"))).toBe(false);
  });

  test.each([
    ["../etc/passwd", "host"],
    ["a/../b", "namespace"],
    ["user:pass@host/ns/m", "credentials"],
    ["ns/m@sha256:abc", "credentials"],
    ["a/b/c/d", "[host/]"],
    ["", "empty"],
    ["m:", "tag"],
    ["x/.hidden", "model"],
    ["ns.dot/m", "namespace"],
    ["ftp://host/ns/m", "scheme"],
    ["m:" + "t".repeat(81), "longer"],
  ])("%p is refused naming the field", (raw, why) => {
    let error: unknown;
    try {
      parseOllamaName(raw, "destination");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).param).toBe("destination");
    expect((error as Error).message).toContain(why);
  });
});
