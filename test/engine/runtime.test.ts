import { expect, test } from "bun:test";
import { flashAttentionFor } from "../../src/engine/runtime.ts";

// "auto" must reach llama.cpp as its own choice, on CPUs too: keeping flash attention off there
// made prefill 0.76× as fast as llama-server's (README, benchmark section).
test("--flash-attention auto leaves the choice to llama.cpp on every backend; on and off force it", () => {
  expect(flashAttentionFor("auto")).toBe("auto");
  expect(flashAttentionFor("on")).toBe(true);
  expect(flashAttentionFor("off")).toBe(false);
});
