import { describe, expect, test } from "bun:test";
import { InvalidRequestError } from "../../src/errors.ts";
import { canonicalModelName, modelNameForPath, pathForModelName, taggedModelName } from "../../src/models/naming.ts";

describe("model naming", () => {
  test("file stem for top-level files, folder:stem for nested ones", () => {
    expect(modelNameForPath("/m", "/m/qwen3.gguf")).toBe("qwen3");
    expect(modelNameForPath("/m", "/m/qwen3/0.6b-Q8_0.GGUF")).toBe("qwen3:0.6b-Q8_0");
    expect(modelNameForPath("/m", "/m/org/qwen3/small.gguf")).toBe("org/qwen3:small");
  });

  test("a folder's latest.gguf is its untagged model", () => {
    expect(modelNameForPath("/m", "/m/org/qwen3/latest.gguf")).toBe("org/qwen3");
  });

  test(":latest is the same model as the bare name", () => {
    expect(canonicalModelName("qwen3:latest")).toBe("qwen3");
    expect(canonicalModelName("qwen3:0.6b")).toBe("qwen3:0.6b");
  });

  test("Ollama clients get every name with a tag", () => {
    expect(taggedModelName("qwen3")).toBe("qwen3:latest");
    expect(taggedModelName("org/qwen3")).toBe("org/qwen3:latest");
    expect(taggedModelName("qwen3:0.6b")).toBe("qwen3:0.6b");
  });
});

describe("the file a name lives in", () => {
  test.each([
    ["qwen3", "/m/qwen3.gguf"],
    ["qwen3:latest", "/m/qwen3.gguf"],
    ["qwen3:0.6b-q8_0", "/m/qwen3/0.6b-q8_0.gguf"],
    ["org/qwen3:small", "/m/org/qwen3/small.gguf"],
    ["org/qwen3", "/m/org/qwen3/latest.gguf"],
    ["org/qwen3:latest", "/m/org/qwen3/latest.gguf"],
    ["hf.co/bartowski/Qwen3-GGUF:Q4_K_M", "/m/hf.co/bartowski/Qwen3-GGUF/Q4_K_M.gguf"],
  ])("%s → %s, which is named back to the same model", (name, path) => {
    expect(pathForModelName("/m", name)).toBe(path);
    expect(modelNameForPath("/m", path)).toBe(canonicalModelName(name));
  });

  test.each(["", "..", "../x", "x/../../y", "/etc/passwd", "a//b", "a\\b", "..\\x", ".hidden", "-x", "x:", ":tag", "x:../y", "x:a/b", "x:y:z", "a b", "host:11434/x"])(
    "%p is refused, naming the field",
    (name) => {
      let error: unknown;
      try {
        pathForModelName("/m", name, "destination");
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).param).toBe("destination");
      expect((error as Error).message).toStartWith(`invalid destination "${name}": `);
    },
  );
});
