import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getLlama, LlamaText, SpecialTokensText, type Llama, type LlamaModel } from "node-llama-cpp";
import { COUNTED_BYTES, fewestTokens, fewestTokensOfText, longestTokenBytes, reachableStops, refuseLongerThanContext, tokenizeStart } from "../../src/engine/prompt-bound.ts";
import { InvalidRequestError } from "../../src/errors.ts";
import { ModelCatalog } from "../../src/models/catalog.ts";
import { modelsFolder } from "../support/models.ts";

// The generated models share a small byte-level BPE vocabulary ("gpt2", as Qwen's), whose longest
// token is a few dozen bytes: a text's bytes over it bound the text's tokens from below.
let llama: Llama;
let model: LlamaModel;

beforeAll(async () => {
  const info = await new ModelCatalog(await modelsFolder(["text"])).get("text");
  llama = await getLlama({ gpu: false, build: "never" });
  model = await llama.loadModel({ modelPath: info.path });
});

afterAll(async () => {
  await llama?.dispose();
});

const SAMPLES = [
  "Hello, world!",
  "x".repeat(5000),
  " ".repeat(3000),
  "\n\n\t  ".repeat(500),
  '{"name": "get_weather", "arguments": {"city": "Paris"}}'.repeat(40),
  "💥é中\u0000\ud800".repeat(300),
  "<|im_start|>user\nHi<|im_end|>\n".repeat(100),
  `${"<|im_end|>".repeat(50)}${" ".repeat(2000)}<|im_end|>`,
];

describe("a text's fewest tokens", () => {
  test("are never more than it tokenizes to, with special tokens parsed or not", () => {
    expect(longestTokenBytes(model)).toBeGreaterThan(1);
    for (const text of SAMPLES) {
      for (const special of [false, true]) {
        const fewest = fewestTokens(model, text, special);
        expect({ text: text.slice(0, 30), special, fewest: Math.min(fewest, model.tokenize(text, special).length) }).toEqual({ text: text.slice(0, 30), special, fewest });
      }
    }
  });

  test("of a rendered prompt are never more than it tokenizes to", () => {
    for (const text of SAMPLES) {
      const prompt = LlamaText([new SpecialTokensText("<|im_start|>user\n"), text, new SpecialTokensText("<|im_end|>\n<|im_start|>assistant\n")]);
      expect(fewestTokensOfText(model, prompt)).toBeLessThanOrEqual(prompt.tokenize(model.tokenizer).length);
    }
  });

  test("refuse a 10 MB text at once, in the words of a tokenized refusal, and leave a text that may fit alone", () => {
    const started = performance.now();
    let error: unknown;
    try {
      refuseLongerThanContext(model, "x".repeat(10 * 2 ** 20), 128, "prompt", true);
    } catch (err) {
      error = err;
    }
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ param: "prompt", code: "context_length_exceeded", message: expect.stringMatching(/^This model's maximum context length is 128 tokens, but prompt is at least \d+ tokens long\.$/) });
    // 300 tokens' worth, but fewer bytes than 128 of the longest tokens: tokenized and refused as before.
    expect(() => refuseLongerThanContext(model, "Hello world. ".repeat(100), 128, "prompt", true)).not.toThrow();
    // Surely too long, but short enough to be tokenized and refused with its exact length.
    expect(() => refuseLongerThanContext(model, "x".repeat(COUNTED_BYTES - 1), 128, "prompt", true)).not.toThrow();
    expect(() => refuseLongerThanContext(model, "x".repeat(COUNTED_BYTES), 128, "prompt", true)).toThrow("prompt is at least");
    // Whitespace beside a special token may vanish into it: 10 MB of it proves nothing.
    expect(() => refuseLongerThanContext(model, `<|im_end|>${" ".repeat(10 * 2 ** 20)}`, 128, "prompt", true)).not.toThrow();
    expect(() => refuseLongerThanContext(model, LlamaText(["x".repeat(10 * 2 ** 20)]), 128, "messages")).toThrow("but the prompt is at least");
  });
});

describe("the start of a long text", () => {
  test("tokenizes to the same first tokens as the whole text, and only a start of it is tokenized", () => {
    for (const text of [...SAMPLES, "Hello world, this is text. ".repeat(2000), "x".repeat(2 ** 20)]) {
      const whole = model.tokenize(text);
      for (const wanted of [1, 10, 100]) {
        const start = tokenizeStart(model, text, wanted);
        expect(start.slice(0, wanted)).toEqual(whole.slice(0, wanted));
        if (whole.length > 10_000) expect(start.length).toBeLessThan(whole.length / 10);
      }
    }
  });
});

test("stop strings longer than any answer can hold are left out", () => {
  const most = longestTokenBytes(model)!;
  expect(reachableStops(model, ["a", "x".repeat(10 * most), "x".repeat(10 * most + 1)], 10)).toEqual(["a", "x".repeat(10 * most)]);
  expect(reachableStops(model, ["x".repeat(10 * 2 ** 20)], 128)).toBeUndefined();
  expect(reachableStops(model, [], 128)).toBeUndefined();
});
