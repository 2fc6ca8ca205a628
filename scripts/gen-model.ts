#!/usr/bin/env bun
/**
 * Generates small GGUF test models of the real `qwen3` architecture (no downloads).
 *
 *   bun scripts/gen-model.ts <preset> [--out DIR]     writes DIR/<preset>.gguf (default DIR: <repo>/.cache/models)
 *   bun scripts/gen-model.ts --list                   lists the presets
 *
 * As a library: `await ensureModel("think")` returns the path, generating the file only when it is missing
 * or was written by another GENERATOR_VERSION (stored in the `hearth.generator` metadata key).
 */
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CHATML_CHAT_TEMPLATE } from "./gguf/chatTemplate.ts";
import { buildEmbed } from "./gguf/embed.ts";
import { buildQwen3, randomWeights, type Qwen3Shape } from "./gguf/qwen3.ts";
import { buildRankModel, RANK_KEYWORD } from "./gguf/rank.ts";
import { type ScriptProgram, scriptedWeights } from "./gguf/scripted.ts";
import { QWEN3_VOCAB_SIZE, Vocab } from "./gguf/tokenizer.ts";
import { GgmlType, type GgufFile, kv, LlamaFileType, readGgufHeader, writeGguf } from "./gguf/writer.ts";

/** Bump whenever the bytes a preset produces change. */
export const GENERATOR_VERSION = 1;
export const GENERATOR_KEY = "hearth.generator";

export const DEFAULT_MODEL_DIR = resolve(import.meta.dir, "..", ".cache", "models");

// ---------------------------------------------------------------------------
// expected outputs of the scripted presets

/** `think`: reasoning then a greeting. */
export const THINK_EXPECTED = {
    /** thought segment text as node-llama-cpp reports it */
    thought: "Let me think.",
    /** response text (after the thought), trimmed */
    response: "Hello!",
    /**
     * response text exactly as node-llama-cpp's LlamaChat / LlamaChatSession report it with thinking on:
     * the "\n\n" after </think> is kept (as with real Qwen3 models)
     */
    reportedResponse: "\n\nHello!",
    /** raw generated text with thinking on (prompt ends with `<|im_start|>assistant\n`), before `<|im_end|>` */
    rawWithThinking: "<think>\nLet me think.\n</think>\n\nHello!",
    /** raw generated text when the prompt ends with the empty think block `<think>\n\n</think>\n\n` */
    rawWithoutThinking: "Hello!",
} as const;

/** `tool`: a Qwen3 tool call; after a tool response is in the context, a plain answer. */
export const TOOL_EXPECTED = {
    functionName: "get_weather",
    params: { city: "Paris" } as { city: string },
    /** raw generated text (no functions offered / raw completion), before `<|im_end|>` */
    raw: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    /** what the model says once a `<tool_response>` / `</tool_response>` token is anywhere in the context */
    answerAfterToolResponse: "The weather in Paris is sunny.",
} as const;

/** `text`: a fixed sentence, one word per token. */
export const TEXT_EXPECTED = {
    text: "The quick brown fox jumps over the lazy dog.",
    /** the generated tokens' texts, in order (`<|im_end|>` follows) */
    tokens: ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."],
} as const;

/** The scripted presets' outputs in API terms (what an OpenAI-style server should return). */
/** Every token is followed by " dog": greedy decoding never ends, whatever the backend's rounding, until max_tokens or a cancel stops it. */
const ENDLESS_TOKEN = " dog";

export const SCRIPTED = {
    think: {
        /** assistant content (thinking on or off) */
        content: THINK_EXPECTED.response,
        /** reasoning_content with thinking on */
        reasoning: THINK_EXPECTED.thought,
    },
    tool: {
        name: TOOL_EXPECTED.functionName,
        arguments: TOOL_EXPECTED.params,
        /** raw text when no tools are offered */
        raw: TOOL_EXPECTED.raw,
        /** assistant content once the conversation contains a tool response */
        answer: TOOL_EXPECTED.answerAfterToolResponse,
    },
    text: {
        content: TEXT_EXPECTED.text,
        tokens: TEXT_EXPECTED.tokens,
    },
    /** `plain`: the `text` script behind a ChatML template without tools or thinking, so only "completion" */
    plain: {
        content: TEXT_EXPECTED.text,
    },
    /** `endless`: the answer repeats this token until it is stopped */
    endless: {
        token: ENDLESS_TOKEN,
    },
} as const;

// ---------------------------------------------------------------------------
// scripts

const TOOL_PREFIX_REST = '\n{"name": "'; // rest of node-llama-cpp's Qwen function call prefix after <tool_call>
const TOOL_ARGS_PREFIX = '", "arguments": {"city": "';
const GRAMMAR_PARAMS_START = '{"city": "'; // what the params grammar allows right after the function name
const TOOL_CALL_END = '"}}\n';
const GRAMMAR_PARAMS_END = '"}';
const GRAMMAR_PARAMS_STOP = "\n\n\n\n"; // node-llama-cpp's params grammar terminator

function chain(tokens: string[]): Array<[string, string[]]> {
    return tokens.slice(0, -1).map((t, i) => [t, [tokens[i + 1]!]]);
}

const THINK_SCRIPT: ScriptProgram = {
    next: [
        ["\n", ["<think>"]],
        ...chain(["<think>", "\nLet", " me", " think", ".\n", "</think>", "\n\n", "Hello", "!", "<|im_end|>"]),
    ],
    fallback: ["<think>"],
};

const TEXT_SCRIPT: ScriptProgram = {
    next: [
        ["\n", ["The"]],
        ["\n\n", ["The"]],
        ...chain([...TEXT_EXPECTED.tokens, "<|im_end|>"]),
    ],
    fallback: ["The"],
};

const ENDLESS_SCRIPT: ScriptProgram = { next: [], fallback: [ENDLESS_TOKEN] };

const TOOL_ANSWER = ["The", " weather", " in", " Paris", " is", " sunny", ".", "<|im_end|>"];
const TOOL_SCRIPT: ScriptProgram = {
    next: [
        // raw path: <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>
        ["\n", ["<tool_call>"]],
        ["\n\n", ["<tool_call>"]],
        ["<tool_call>", [TOOL_PREFIX_REST]],
        [TOOL_PREFIX_REST, ["get_weather"]],
        // 2nd choice: node-llama-cpp's function-name grammar only allows "\n" after the name
        ["get_weather", [TOOL_ARGS_PREFIX, "\n"]],
        [TOOL_ARGS_PREFIX, ["Paris"]],
        ["Paris", [TOOL_CALL_END, GRAMMAR_PARAMS_END]],
        [TOOL_CALL_END, ["</tool_call>"]],
        ["</tool_call>", ["<|im_end|>"]],
        // function-calling path: once node-llama-cpp detects the call prefix it re-evaluates the call text
        // tokenized normally, so the context ends with ' "' (from `{"name": "`) for the name...
        [' "', ["get_weather"]],
        // ...and with " " (from `", "arguments": `) for the params, which its JSON grammar constrains
        [" ", [GRAMMAR_PARAMS_START]],
        [GRAMMAR_PARAMS_START, ["Paris"]],
        [GRAMMAR_PARAMS_END, [GRAMMAR_PARAMS_STOP]],
        [GRAMMAR_PARAMS_STOP, ["<|im_end|>"]],
        ...chain(TOOL_ANSWER),
    ],
    fallback: ["<tool_call>"],
    flag: {
        tokens: ["<tool_response>", "</tool_response>"],
        overrides: [
            ["\n", [TOOL_ANSWER[0]!]],
            ["\n\n", [TOOL_ANSWER[0]!]],
        ],
    },
};

/** Tokens the scripts need, on top of the tokenizer's common tokens. */
const SCRIPT_TOKENS = [
    ...[THINK_SCRIPT, TEXT_SCRIPT, TOOL_SCRIPT, ENDLESS_SCRIPT].flatMap((s) => [
        ...s.next.flatMap(([f, t]) => [f, ...t]),
        ...s.fallback,
        ...(s.flag?.overrides.flatMap(([f, t]) => [f, ...t]) ?? []),
    ]),
].filter((t) => !/^<.*>$/.test(t));

// ---------------------------------------------------------------------------
// presets

export type PresetName = "tiny" | "think" | "tool" | "text" | "plain" | "endless" | "bench" | "rank" | "embed";

interface PresetDef {
    description: string;
    build(): GgufFile;
}

const SMALL_CONTEXT = 32768;

const SCRIPTED_SHAPE: Qwen3Shape = { hidden: 64, layers: 2, heads: 2, kvHeads: 1, headDim: 32, ffn: 64, contextLength: SMALL_CONTEXT };
const SCRIPTED_TYPES = { norm: GgmlType.F32, embd: GgmlType.F16, output: GgmlType.F16, attn: GgmlType.F16, ffn: GgmlType.F16 };

let smallVocab: Vocab | undefined;
/** The vocabulary shared by all small presets (byte tokens + common tokens + script tokens + Qwen specials). */
export function getSmallVocab(): Vocab {
    return (smallVocab ??= new Vocab({ tokens: SCRIPT_TOKENS }));
}

function scripted(preset: PresetName, program: ScriptProgram, chatTemplate?: string): GgufFile {
    const vocab = getSmallVocab();
    const { weights } = scriptedWeights(vocab, SCRIPTED_SHAPE, program);
    return buildQwen3({
        name: `Hearth Test Qwen3 ${preset}`,
        shape: SCRIPTED_SHAPE,
        vocab,
        types: SCRIPTED_TYPES,
        fileType: LlamaFileType.MOSTLY_F16,
        weights,
        chatTemplate,
    });
}

export const PRESETS: Record<PresetName, PresetDef> = {
    tiny: {
        description: "random weights (seeded), hidden 64, 2 layers, F16 attention + Q8_0 FFN/output; < 1 MB; babbles",
        build: () => buildQwen3({
            name: "Hearth Test Qwen3 tiny",
            shape: { hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, contextLength: SMALL_CONTEXT },
            vocab: getSmallVocab(),
            types: { norm: GgmlType.F32, embd: GgmlType.F16, output: GgmlType.Q8_0, attn: GgmlType.F16, ffn: GgmlType.Q8_0 },
            fileType: LlamaFileType.MOSTLY_Q8_0,
            weights: randomWeights("hearth-tiny"),
        }),
    },
    think: {
        description: `scripted: "${THINK_EXPECTED.rawWithThinking.replaceAll("\n", "\\n")}<|im_end|>"; with an empty think block in the prompt: "${THINK_EXPECTED.rawWithoutThinking}<|im_end|>"`,
        build: () => scripted("think", THINK_SCRIPT),
    },
    tool: {
        description: `scripted: a get_weather({"city": "Paris"}) tool call; once a tool response is in the context: "${TOOL_EXPECTED.answerAfterToolResponse}"`,
        build: () => scripted("tool", TOOL_SCRIPT),
    },
    text: {
        description: `scripted: "${TEXT_EXPECTED.text}<|im_end|>" in ${TEXT_EXPECTED.tokens.length} tokens`,
        build: () => scripted("text", TEXT_SCRIPT),
    },
    plain: {
        // ChatML's generation prompt also ends with "\n", where TEXT_SCRIPT starts
        description: `scripted like text, with a plain ChatML template (no tools, no thinking): "${TEXT_EXPECTED.text}<|im_end|>"`,
        build: () => scripted("plain", TEXT_SCRIPT, CHATML_CHAT_TEMPLATE),
    },
    endless: {
        description: `scripted: "${ENDLESS_TOKEN}" after every token, so a greedy answer only ends at max_tokens or a cancel (for tests that need a long generation)`,
        build: () => scripted("endless", ENDLESS_SCRIPT),
    },
    rank: {
        description: `reranker shaped like Qwen3-Reranker (rank pooling, cls.output head, rerank template): the score rises with the share of the prompt that is the word "${RANK_KEYWORD}"`,
        build: () => buildRankModel({ name: "Hearth Test Qwen3 rank", words: TEXT_EXPECTED.tokens }),
    },
    embed: {
        description: "constructed embedding model (mean pooling, hidden 256): texts are as similar as the words they share, stop words aside",
        build: buildEmbed,
    },
    bench: {
        description: "Qwen3-0.6B shape (1024 hidden, 28 layers, 16/8 heads, FFN 3072, vocab 151936, tied output), random Q8_0 weights, ~630 MB",
        build: () => buildQwen3({
            name: "Hearth Bench Qwen3 0.6B-shaped",
            shape: { hidden: 1024, layers: 28, heads: 16, kvHeads: 8, headDim: 128, ffn: 3072, contextLength: 40960 },
            vocab: new Vocab({ padTo: QWEN3_VOCAB_SIZE }),
            types: { norm: GgmlType.F32, embd: GgmlType.Q8_0, output: GgmlType.Q8_0, attn: GgmlType.Q8_0, ffn: GgmlType.Q8_0 },
            fileType: LlamaFileType.MOSTLY_Q8_0,
            tiedOutput: true,
            weights: randomWeights("hearth-bench"),
        }),
    },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(name: string): name is PresetName {
    return Object.hasOwn(PRESETS, name);
}

function generatorTag(preset: PresetName) {
    return `hearth-gen-model/${GENERATOR_VERSION}/${preset}`;
}

/** Build a preset's GGUF description (metadata + tensor producers), tagged with the generator version. */
export function buildPreset(preset: PresetName): GgufFile {
    const file = PRESETS[preset].build();
    // keep the tag near the start so ensureModel can read it without parsing the vocab
    file.metadata.splice(1, 0, [GENERATOR_KEY, kv.str(generatorTag(preset))]);
    return file;
}

/** Generate `preset` into `path` (written to a temporary name, then renamed into place). Returns the byte size. */
export function generateModel(preset: PresetName, path: string): number {
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
        const size = writeGguf(tmp, buildPreset(preset));
        renameSync(tmp, path);
        return size;
    } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
    }
}

/** Whether `path` is a GGUF made by this generator version for `preset`. */
export function isModelCurrent(preset: PresetName, path: string): boolean {
    try {
        const { metadata } = readGgufHeader(path, [GENERATOR_KEY]);
        return metadata[GENERATOR_KEY] === generatorTag(preset);
    } catch {
        return false;
    }
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Path of the preset's model in `dir`, generating it if missing or made by another generator version.
 * Safe to call concurrently (in one process and across processes: files are renamed into place atomically).
 */
export async function ensureModel(preset: PresetName, dir: string = DEFAULT_MODEL_DIR): Promise<string> {
    if (!isPresetName(preset)) throw new Error(`unknown preset ${preset}; one of ${PRESET_NAMES.join(", ")}`);
    const path = resolve(dir, `${preset}.gguf`);
    if (isModelCurrent(preset, path)) return path;
    const pending = inFlight.get(path);
    if (pending != null) return pending;
    const promise = (async () => {
        mkdirSync(dir, { recursive: true });
        generateModel(preset, path);
        return path;
    })().finally(() => inFlight.delete(path));
    inFlight.set(path, promise);
    return promise;
}

// ---------------------------------------------------------------------------
// CLI

async function main(argv: string[]) {
    const args = argv.slice(2);
    if (args.length === 0 || args.includes("--help") || args.includes("-h") || args.includes("--list")) {
        console.log("usage: bun scripts/gen-model.ts <preset> [--out DIR]\n\npresets:");
        for (const name of PRESET_NAMES) console.log(`  ${name.padEnd(6)} ${PRESETS[name].description}`);
        return args.includes("--list") ? 0 : args.length === 0 ? 1 : 0;
    }
    let dir = DEFAULT_MODEL_DIR;
    const presets: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--out") dir = resolve(args[++i] ?? ".");
        else presets.push(args[i]!);
    }
    for (const preset of presets) {
        if (!isPresetName(preset)) {
            console.error(`unknown preset "${preset}"; one of: ${PRESET_NAMES.join(", ")}`);
            return 1;
        }
        mkdirSync(dir, { recursive: true });
        const path = join(dir, `${preset}.gguf`);
        const start = performance.now();
        generateModel(preset, path);
        const secs = (performance.now() - start) / 1000;
        console.log(`${path}  ${(statSync(path).size / 1e6).toFixed(2)} MB  ${secs.toFixed(2)} s`);
    }
    return 0;
}

if (import.meta.main) process.exit(await main(process.argv));
