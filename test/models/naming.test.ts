import { describe, expect, test } from "bun:test";
import { canonicalModelName, modelNameForPath } from "../../src/models/naming.ts";

describe("model naming", () => {
  test("file stem for top-level files, folder:stem for nested ones", () => {
    expect(modelNameForPath("/m", "/m/qwen3.gguf")).toBe("qwen3");
    expect(modelNameForPath("/m", "/m/qwen3/0.6b-Q8_0.GGUF")).toBe("qwen3:0.6b-Q8_0");
    expect(modelNameForPath("/m", "/m/org/qwen3/small.gguf")).toBe("org/qwen3:small");
  });

  test(":latest is the same model as the bare name", () => {
    expect(canonicalModelName("qwen3:latest")).toBe("qwen3");
    expect(canonicalModelName("qwen3:0.6b")).toBe("qwen3:0.6b");
  });
});
