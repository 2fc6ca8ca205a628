import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    defineChatSessionFunction,
    getLlama,
    type Llama,
    LlamaChat,
    LlamaChatSession,
    type LlamaModel,
    type Token,
    QwenChatWrapper,
    readGgufFileInfo,
    resolveChatWrapper,
} from "node-llama-cpp";
import { deriveCapabilities } from "../../src/models/capabilities.ts";
import {
    ensureModel,
    GENERATOR_KEY,
    generateModel,
    getSmallVocab,
    isModelCurrent,
    PRESET_NAMES,
    PRESETS,
    SCRIPTED,
    TEXT_EXPECTED,
    THINK_EXPECTED,
    TOOL_EXPECTED,
} from "../../scripts/gen-model.ts";
import { CHATML_CHAT_TEMPLATE, QWEN3_CHAT_TEMPLATE } from "../../scripts/gguf/chatTemplate.ts";
import { fromTokenText, TokenType, toTokenText, Vocab } from "../../scripts/gguf/tokenizer.ts";
import {
    decodeTensor,
    dequantizeQ8_0,
    denseTensor,
    f16ToF32,
    f32ToF16,
    GGUF_MAGIC,
    GgmlType,
    GgufValueType,
    kv,
    quantizeQ8_0,
    readGgufHeader,
    readTensorBytes,
    writeGguf,
} from "../../scripts/gguf/writer.ts";

const tmp = mkdtempSync(join(tmpdir(), "hearth-gguf-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MODEL_TIMEOUT = 30_000;

// ---------------------------------------------------------------------------

describe("GGUF writer", () => {
    const path = join(tmp, "kv.gguf");
    const tensorData = Float32Array.from({ length: 64 * 3 }, (_, i) => Math.sin(i) * (i % 7));

    beforeAll(() => {
        writeGguf(path, {
            metadata: [
                ["general.architecture", kv.str("llama")],
                ["general.name", kv.str("kv test ✓")],
                ["test.u8", kv.u8(200)],
                ["test.i8", kv.i8(-100)],
                ["test.u16", kv.u16(60000)],
                ["test.i16", kv.i16(-30000)],
                ["test.u32", kv.u32(4000000000)],
                ["test.i32", kv.i32(-2000000000)],
                ["test.u64", kv.u64(1n << 40n)],
                ["test.i64", kv.i64(-(1n << 40n))],
                ["test.f32", kv.f32(0.5)],
                ["test.f64", kv.f64(Math.PI)],
                ["test.bool", kv.bool(true)],
                ["test.str", kv.str("héllo\nworld")],
                ["test.strs", kv.strs(["a", "", "Ġthe", "<|im_end|>"])],
                ["test.i32s", kv.i32s([1, -2, 3])],
                ["test.f32s", kv.f32s([0.25, -1.5])],
                ["test.u8s", kv.arr(GgufValueType.UINT8, [1, 2, 255])],
            ],
            tensors: [
                denseTensor("a.f32", [64, 3], GgmlType.F32, tensorData),
                denseTensor("b.f16", [64, 3], GgmlType.F16, tensorData),
                denseTensor("c.q8", [64, 3], GgmlType.Q8_0, tensorData),
                denseTensor("d.odd", [5], GgmlType.F32, new Float32Array([1, 2, 3, 4, 5])),
            ],
        });
    });

    test("header magic and version", () => {
        const b = readFileSync(path);
        expect(b.subarray(0, 4).toString("latin1")).toBe("GGUF");
        expect(b.readUInt32LE(0)).toBe(GGUF_MAGIC);
        expect(b.readUInt32LE(4)).toBe(3);
        expect(b.readBigUInt64LE(8)).toBe(4n); // tensors
        expect(b.readBigUInt64LE(16)).toBe(19n); // kvs incl. general.alignment
    });

    test("metadata round trip through node-llama-cpp's readGgufFileInfo", async () => {
        const info = await readGgufFileInfo(path, { logWarnings: false });
        expect(info.version).toBe(3);
        const m = info.metadata as any;
        expect(m.general.architecture).toBe("llama");
        expect(m.general.name).toBe("kv test ✓");
        expect(m.general.alignment).toBe(32);
        expect(m.test.u8).toBe(200);
        expect(m.test.i8).toBe(-100);
        expect(m.test.u16).toBe(60000);
        expect(m.test.i16).toBe(-30000);
        expect(m.test.u32).toBe(4000000000);
        expect(m.test.i32).toBe(-2000000000);
        expect(BigInt(m.test.u64)).toBe(1n << 40n);
        expect(BigInt(m.test.i64)).toBe(-(1n << 40n));
        expect(m.test.f32).toBe(0.5);
        expect(m.test.f64).toBeCloseTo(Math.PI, 12);
        expect(m.test.bool).toBe(true);
        expect(m.test.str).toBe("héllo\nworld");
        expect(m.test.strs).toEqual(["a", "", "Ġthe", "<|im_end|>"]);
        expect(m.test.i32s).toEqual([1, -2, 3]);
        expect(m.test.f32s).toEqual([0.25, -1.5]);
        expect(m.test.u8s).toEqual([1, 2, 255]);
        const tensors = info.tensorInfo!.map((t) => ({ name: t.name, dims: t.dimensions.map(Number), type: t.ggmlType, offset: Number(t.offset) }));
        expect(tensors).toEqual([
            { name: "a.f32", dims: [64, 3], type: GgmlType.F32, offset: 0 },
            { name: "b.f16", dims: [64, 3], type: GgmlType.F16, offset: 768 },
            { name: "c.q8", dims: [64, 3], type: GgmlType.Q8_0, offset: 1152 },
            { name: "d.odd", dims: [5], type: GgmlType.F32, offset: 1376 }, // 1152 + 204 aligned up to 32
        ]);
    });

    test("tensor data round trip (own reader), alignment of the data section", () => {
        const h = readGgufHeader(path);
        expect(h.dataOffset % 32).toBe(0);
        expect(statSync(path).size).toBe(h.dataOffset + 1376 + 32);
        expect(Array.from(decodeTensor(GgmlType.F32, readTensorBytes(path, h, "a.f32"), 192))).toEqual(Array.from(tensorData));
        const f16 = decodeTensor(GgmlType.F16, readTensorBytes(path, h, "b.f16"), 192);
        for (let i = 0; i < 192; i++) expect(Math.abs(f16[i]! - tensorData[i]!)).toBeLessThanOrEqual(Math.abs(tensorData[i]!) / 1024 + 1e-7);
        const q8 = decodeTensor(GgmlType.Q8_0, readTensorBytes(path, h, "c.q8"), 192);
        for (let i = 0; i < 192; i++) expect(Math.abs(q8[i]! - tensorData[i]!)).toBeLessThan(0.03);
        expect(Array.from(decodeTensor(GgmlType.F32, readTensorBytes(path, h, "d.odd"), 5))).toEqual([1, 2, 3, 4, 5]);
    });

    test("f16 conversion", () => {
        for (const [v, bits] of [[0, 0], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1e6, 0x7c00], [2 ** -24, 0x0001], [0.1, 0x2e66], [1 / 3, 0x3555]] as const)
            expect(f32ToF16(v)).toBe(bits);
        expect(f16ToF32(0x3555)).toBeCloseTo(1 / 3, 3);
        expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    });

    test("Q8_0 quantization round trip", () => {
        const n = 32 * 8;
        const src = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (1 + (i >> 5)));
        src.fill(0, 64, 96); // an all-zero block
        const q = quantizeQ8_0(src);
        expect(q.length).toBe((n / 32) * 34);
        const back = dequantizeQ8_0(q, n);
        for (let b = 0; b < n / 32; b++) {
            const block = src.subarray(b * 32, b * 32 + 32);
            const amax = Math.max(...Array.from(block, Math.abs));
            for (let j = 0; j < 32; j++) {
                const err = Math.abs(back[b * 32 + j]! - block[j]!);
                // half a quantization step, plus the f16 rounding of the scale
                expect(err).toBeLessThanOrEqual((amax / 127) * 0.5 + amax * 2 ** -10 + 1e-9);
            }
        }
        expect(Array.from(back.subarray(64, 96))).toEqual(new Array(32).fill(0));
        expect(() => quantizeQ8_0(new Float32Array(33))).toThrow();
    });
});

// ---------------------------------------------------------------------------

describe("tokenizer", () => {
    const vocab = getSmallVocab();

    test("byte tokens, merges and specials", () => {
        expect(vocab.tokens[0]).toBe("!");
        expect(new Set(vocab.tokens.slice(0, 256)).size).toBe(256);
        expect(toTokenText(" the\n")).toBe("ĠtheĊ");
        expect(fromTokenText("ĠtheĊ")).toBe(" the\n");
        const index = new Map(vocab.tokens.map((t, i) => [t, i]));
        for (const m of vocab.merges) {
            const [a, b] = m.split(" ");
            expect(index.has(a!)).toBe(true);
            expect(index.has(b!)).toBe(true);
            expect(index.has(a! + b!)).toBe(true);
        }
        // every normal token is built by BPE from its own characters
        vocab.tokens.forEach((t, id) => {
            if (vocab.types[id] === TokenType.NORMAL) expect(vocab.bpe([...t])).toEqual([t]);
        });
        expect(vocab.types[vocab.special("<|im_end|>")]).toBe(TokenType.CONTROL);
        expect(vocab.types[vocab.special("<|endoftext|>")]).toBe(TokenType.CONTROL);
        for (const t of ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"])
            expect(vocab.types[vocab.special(t)]).toBe(TokenType.USER_DEFINED);
        expect(vocab.eos).toBe(vocab.special("<|im_end|>"));
        expect(vocab.tokenize("<|im_start|>assistant\n<think>\n\n</think>\n\n").map((t) => vocab.text(t)))
            .toEqual(["<|im_start|>", "assistant", "\n", "<think>", "\n\n", "</think>", "\n\n"]);
    });

    test("padded vocab puts specials at Qwen3's ids", () => {
        const v = new Vocab({ padTo: 151936 });
        expect(v.size).toBe(151936);
        expect(v.special("<|endoftext|>")).toBe(151643);
        expect(v.special("<|im_end|>")).toBe(151645);
        expect(v.special("<tool_call>")).toBe(151657);
        expect(v.special("<think>")).toBe(151667);
    });
});

// ---------------------------------------------------------------------------

let llama: Llama;
const models = new Map<string, LlamaModel>();

type SmallPreset = "tiny" | "think" | "tool" | "text" | "plain";

async function loadPreset(preset: SmallPreset) {
    let model = models.get(preset);
    if (model == null) {
        model = await llama.loadModel({ modelPath: await ensureModel(preset) });
        models.set(preset, model);
    }
    return model;
}

async function withSession<T>(preset: SmallPreset, fn: (session: LlamaChatSession, model: LlamaModel) => Promise<T>, wrapper?: QwenChatWrapper) {
    const model = await loadPreset(preset);
    const context = await model.createContext({ contextSize: 2048, threads: 2 });
    try {
        const session = new LlamaChatSession({ contextSequence: context.getSequence(), ...(wrapper ? { chatWrapper: wrapper } : {}) });
        return await fn(session, model);
    } finally {
        await context.dispose();
    }
}

beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as any });
});
afterAll(async () => {
    for (const m of models.values()) await m.dispose();
    await llama?.dispose();
});

describe("presets", () => {
    test("PRESETS lists all presets with descriptions", () => {
        expect(PRESET_NAMES.sort()).toEqual(["bench", "embed", "endless", "plain", "rank", "text", "think", "tiny", "tool"]);
        for (const p of PRESET_NAMES) expect(PRESETS[p].description.length).toBeGreaterThan(10);
    });

    test("tiny: < 1 MB, deterministic bytes, qwen3 metadata", async () => {
        const a = join(tmp, "tiny-a.gguf");
        const b = join(tmp, "tiny-b.gguf");
        generateModel("tiny", a);
        generateModel("tiny", b);
        expect(statSync(a).size).toBeLessThan(1_000_000);
        const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
        expect(sha(a)).toBe(sha(b));
        const info = await readGgufFileInfo(a, { logWarnings: false });
        const m = info.metadata as any;
        expect(m.general.architecture).toBe("qwen3");
        expect(m.qwen3.context_length).toBeGreaterThanOrEqual(4096);
        expect(m.tokenizer.ggml.model).toBe("gpt2");
        expect(m.tokenizer.ggml.pre).toBe("qwen2");
        expect(m.tokenizer.chat_template).toBe(QWEN3_CHAT_TEMPLATE);
        const types = new Set(info.tensorInfo!.map((t) => t.ggmlType));
        expect([...types].sort()).toEqual([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0]);
        expect(info.tensorInfo!.some((t) => t.name === "output.weight")).toBe(true);
    });

    test("scripted presets are small", () => {
        for (const p of ["think", "tool", "text", "plain"] as const) {
            const path = join(tmp, `${p}.gguf`);
            generateModel(p, path);
            expect(statSync(path).size).toBeLessThan(2_000_000);
        }
    });

    test("ensureModel: reuses current files, regenerates stale ones, concurrent-safe", async () => {
        const dir = join(tmp, "ensure");
        const paths = await Promise.all([ensureModel("text", dir), ensureModel("text", dir), ensureModel("text", dir)]);
        expect(new Set(paths).size).toBe(1);
        const path = paths[0]!;
        expect(isModelCurrent("text", path)).toBe(true);
        expect(isModelCurrent("think", path)).toBe(false);
        const mtime = statSync(path).mtimeMs;
        expect(await ensureModel("text", dir)).toBe(path);
        expect(statSync(path).mtimeMs).toBe(mtime);
        writeFileSync(path, "not a gguf");
        await ensureModel("text", dir);
        expect(isModelCurrent("text", path)).toBe(true);
        expect(readGgufHeader(path, [GENERATOR_KEY]).metadata[GENERATOR_KEY]).toMatch(/^hearth-gen-model\/\d+\/text$/);
        expect(readdirSync(dir)).toEqual(["text.gguf"]);
    });

    test("tiny: node-llama-cpp loads it and generates finite logits; tokenization matches llama.cpp", async () => {
        const model = await loadPreset("tiny");
        const vocab = getSmallVocab();
        for (const text of ["Hello world, what is the weather in Paris today?\n\nThanks!", "<|im_start|>user\nHi<|im_end|>\n<think>\n\n</think>\n\n", "  x = 42;\r\n\tdone"])
            expect(Array.from(model.tokenize(text, true), Number)).toEqual(vocab.tokenize(text));
        const context = await model.createContext({ contextSize: 512, threads: 2 });
        try {
            const seq = context.getSequence();
            let n = 0;
            for await (const { token, confidence, probabilities } of seq.evaluateWithMetadata(model.tokenize("Once upon a time"), { confidence: true, probabilities: true }, { temperature: 0 })) {
                expect(Number.isFinite(confidence)).toBe(true);
                expect(confidence).toBeGreaterThan(0);
                expect([...probabilities.values()].every(Number.isFinite)).toBe(true);
                expect(token).toBeLessThan(vocab.size);
                if (++n >= 6) break;
            }
            expect(n).toBe(6);
        } finally {
            await context.dispose();
        }
    }, MODEL_TIMEOUT);

    test("chat template resolves to node-llama-cpp's QwenChatWrapper", async () => {
        for (const preset of ["think", "tool", "text", "tiny"] as const) {
            const model = await loadPreset(preset);
            expect(resolveChatWrapper(model)?.wrapperName).toBe("Qwen");
            expect(resolveChatWrapper({ bosString: model.tokens.bosString, filename: model.filename, fileInfo: model.fileInfo, tokenizer: model.tokenizer })?.wrapperName).toBe("Qwen");
        }
        // from the file's metadata alone (no loaded model)
        const info = await readGgufFileInfo(await ensureModel("text"), { logWarnings: false });
        expect(resolveChatWrapper({ fileInfo: info })?.wrapperName).toBe("Qwen");
    }, MODEL_TIMEOUT);

    test("think: thought segment then response", async () => {
        await withSession("think", async (session) => {
            expect(session.chatWrapper.wrapperName).toBe("Qwen");
            const { response, stopReason } = await session.promptWithMeta("Hi", { temperature: 0, maxTokens: 50 });
            expect(stopReason).toBe("eogToken");
            const thoughts = response.filter((r) => typeof r !== "string" && r.type === "segment" && r.segmentType === "thought") as any[];
            expect(thoughts.map((t) => t.text)).toEqual([THINK_EXPECTED.thought]);
            expect(thoughts[0].ended).toBe(true);
            // node-llama-cpp keeps the "\n\n" that follows </think> in the response text
            expect(response.filter((r) => typeof r === "string").join("")).toBe(THINK_EXPECTED.reportedResponse);
            expect(THINK_EXPECTED.reportedResponse.trim()).toBe(THINK_EXPECTED.response);
        });
    }, MODEL_TIMEOUT);

    test("think: with thinking discouraged (empty think block in the prompt)", async () => {
        await withSession("think", async (session, model) => {
            const text = await session.prompt("Hi", { temperature: 0, maxTokens: 50 });
            expect(text).toBe(THINK_EXPECTED.rawWithoutThinking);
            const tail = session.sequence.contextTokens.slice(-4).map((t) => model.detokenize([t], true));
            expect(tail).toEqual(["</think>", "\n\n", "Hello", "!"]);
        }, new QwenChatWrapper({ thoughts: "discourage" }));
    }, MODEL_TIMEOUT);

    test("think: raw generated text", async () => {
        const model = await loadPreset("think");
        const context = await model.createContext({ contextSize: 512, threads: 2 });
        try {
            const seq = context.getSequence();
            const out: Token[] = [];
            for await (const t of seq.evaluate(model.tokenize("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", true), { temperature: 0 })) {
                if (model.isEogToken(t)) break;
                out.push(t);
                if (out.length > 30) break;
            }
            expect(model.detokenize(out, true)).toBe(THINK_EXPECTED.rawWithThinking);
        } finally {
            await context.dispose();
        }
    }, MODEL_TIMEOUT);

    test("tool: LlamaChat parses the function call", async () => {
        const model = await loadPreset("tool");
        const context = await model.createContext({ contextSize: 2048, threads: 2 });
        try {
            const chat = new LlamaChat({ contextSequence: context.getSequence() });
            expect(chat.chatWrapper.wrapperName).toBe("Qwen");
            const res = await chat.generateResponse(
                [{ type: "user", text: "What's the weather like in Paris?" }, { type: "model", response: [] }],
                {
                    temperature: 0,
                    maxTokens: 60,
                    functions: {
                        get_weather: { description: "Get the weather of a city", params: { type: "object", properties: { city: { type: "string" } } } },
                        get_time: { description: "Get the time", params: { type: "object", properties: { zone: { type: "string" } } } },
                    },
                },
            );
            expect(res.metadata.stopReason).toBe("functionCalls");
            expect(res.functionCalls?.map((c) => [c.functionName, c.params])).toEqual([[TOOL_EXPECTED.functionName, TOOL_EXPECTED.params]]);
        } finally {
            await context.dispose();
        }
    }, MODEL_TIMEOUT);

    test("tool: LlamaChatSession calls the function, then answers from the tool response", async () => {
        await withSession("tool", async (session) => {
            const calls: unknown[] = [];
            const text = await session.prompt("What's the weather like in Paris?", {
                temperature: 0,
                maxTokens: 80,
                functions: {
                    get_weather: defineChatSessionFunction({
                        description: "Get the weather of a city",
                        params: { type: "object", properties: { city: { type: "string" } } },
                        handler(params) {
                            calls.push(params);
                            return { weather: "sunny" };
                        },
                    }),
                },
            });
            expect(calls).toEqual([TOOL_EXPECTED.params]);
            expect(text).toBe(TOOL_EXPECTED.answerAfterToolResponse);
        });
    }, MODEL_TIMEOUT);

    test("tool: without functions the raw tool call text comes out", async () => {
        await withSession("tool", async (session) => {
            expect(await session.prompt("What's the weather like in Paris?", { temperature: 0, maxTokens: 60 })).toBe(TOOL_EXPECTED.raw);
        });
    }, MODEL_TIMEOUT);

    test("text: exact sentence, token by token", async () => {
        expect(new Set(TEXT_EXPECTED.tokens).size).toBeGreaterThanOrEqual(8);
        await withSession("text", async (session, model) => {
            const chunks: string[] = [];
            const text = await session.prompt("Say something", { temperature: 0, maxTokens: 50, onTextChunk: (c) => chunks.push(c) });
            expect(text).toBe(TEXT_EXPECTED.text);
            const n = TEXT_EXPECTED.tokens.length;
            const generated = session.sequence.contextTokens.slice(-n).map((t) => model.detokenize([t]));
            expect(generated).toEqual([...TEXT_EXPECTED.tokens]);
            expect(chunks.join("")).toBe(TEXT_EXPECTED.text);
            session.resetChatHistory();
            expect(await session.prompt("Again", { temperature: 0, maxTokens: 3 })).toBe("The quick brown");
            session.resetChatHistory();
            expect(await session.prompt("Again", { temperature: 0, maxTokens: 50, customStopTriggers: ["fox"] })).toBe("The quick brown ");
        });
    }, MODEL_TIMEOUT);

    test("scripted output does not depend on sampling settings", async () => {
        await withSession("text", async (session) => {
            expect(await session.prompt("Write a poem", { temperature: 1, topK: 40, topP: 0.95, seed: 1234, repeatPenalty: { penalty: 1.3 } }))
                .toBe(TEXT_EXPECTED.text);
        });
    }, MODEL_TIMEOUT);

    test("plain: a ChatML template without tools or thinking, so only the completion capability", async () => {
        const info = await readGgufFileInfo(await ensureModel("plain"), { logWarnings: false });
        const template = (info.metadata as any).tokenizer.chat_template as string;
        expect(template).toBe(CHATML_CHAT_TEMPLATE);
        for (const marker of ["tools", "<think>", "enable_thinking", "reasoning_content"]) expect(template).not.toContain(marker);
        expect(deriveCapabilities({ architecture: "qwen3", chatTemplate: template, metadata: info.metadata })).toEqual(["completion"]);
    });

    test("plain: resolves to node-llama-cpp's ChatMLChatWrapper and says the exact sentence", async () => {
        await withSession("plain", async (session, model) => {
            expect(session.chatWrapper.wrapperName).toBe("ChatML");
            expect(await session.prompt("Say something", { temperature: 0, maxTokens: 50 })).toBe(SCRIPTED.plain.content);
            // the script starts from the "\n" that ends ChatML's generation prompt
            const n = TEXT_EXPECTED.tokens.length;
            const tail = session.sequence.contextTokens.slice(-n - 2).map((t) => model.detokenize([t], true));
            expect(tail).toEqual(["assistant", "\n", ...TEXT_EXPECTED.tokens]);
        });
    }, MODEL_TIMEOUT);
});
