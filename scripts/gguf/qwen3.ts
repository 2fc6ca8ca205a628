/**
 * Builds GGUF files of llama.cpp's `qwen3` architecture (Qwen3 dense: GQA attention with per-head
 * RMS q/k norms, NEOX RoPE, SwiGLU FFN, RMSNorm) with a byte-level BPE vocab and a Qwen3-style chat template.
 */
import { QWEN3_CHAT_TEMPLATE } from "./chatTemplate.ts";
import { randomTensor } from "./random.ts";
import type { Vocab } from "./tokenizer.ts";
import {
    elementCount,
    GgmlType,
    type GgufFile,
    type GgufValue,
    GgufValueType,
    kv,
    LlamaFileType,
    rowTensor,
    type TensorSpec,
} from "./writer.ts";

export interface Qwen3Shape {
    hidden: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    ffn: number;
    contextLength: number;
    ropeFreqBase?: number;
    rmsEps?: number;
}

export type TensorRole =
    | "token_embd"
    | "output_norm"
    | "output"
    | "attn_norm"
    | "attn_q"
    | "attn_k"
    | "attn_v"
    | "attn_output"
    | "attn_q_norm"
    | "attn_k_norm"
    | "ffn_norm"
    | "ffn_gate"
    | "ffn_up"
    | "ffn_down";

export interface TensorRequest {
    name: string;
    role: TensorRole;
    /** layer index for blk.N tensors */
    layer?: number;
    /** ggml order: [inputs (contiguous), outputs] for matrices */
    shape: number[];
    type: GgmlType;
}

/** Produces the data of each tensor. */
export type WeightSource = (req: TensorRequest) => TensorSpec;

export interface TensorTypes {
    norm: GgmlType;
    embd: GgmlType;
    output: GgmlType;
    attn: GgmlType;
    ffn: GgmlType;
}

export interface Qwen3ModelOptions {
    name: string;
    shape: Qwen3Shape;
    vocab: Vocab;
    types: TensorTypes;
    fileType: LlamaFileType;
    weights: WeightSource;
    /** Share token_embd as the output matrix (no output.weight), like Qwen3-0.6B. Default false. */
    tiedOutput?: boolean;
    chatTemplate?: string;
    /** Extra metadata appended after the standard keys. */
    extraMetadata?: Array<[string, GgufValue]>;
    /** Tensors beyond the decoder's own, such as a reranker's classification head (cls.output.weight). */
    extraTensors?: TensorSpec[];
}

export function qwen3TensorRequests(shape: Qwen3Shape, vocabSize: number, types: TensorTypes, tiedOutput: boolean): TensorRequest[] {
    const { hidden, heads, kvHeads, headDim, ffn } = shape;
    const reqs: TensorRequest[] = [{ name: "token_embd.weight", role: "token_embd", shape: [hidden, vocabSize], type: types.embd }];
    for (let i = 0; i < shape.layers; i++) {
        const p = `blk.${i}.`;
        reqs.push(
            { name: `${p}attn_norm.weight`, role: "attn_norm", layer: i, shape: [hidden], type: types.norm },
            { name: `${p}attn_q.weight`, role: "attn_q", layer: i, shape: [hidden, heads * headDim], type: types.attn },
            { name: `${p}attn_k.weight`, role: "attn_k", layer: i, shape: [hidden, kvHeads * headDim], type: types.attn },
            { name: `${p}attn_v.weight`, role: "attn_v", layer: i, shape: [hidden, kvHeads * headDim], type: types.attn },
            { name: `${p}attn_output.weight`, role: "attn_output", layer: i, shape: [heads * headDim, hidden], type: types.attn },
            { name: `${p}attn_q_norm.weight`, role: "attn_q_norm", layer: i, shape: [headDim], type: types.norm },
            { name: `${p}attn_k_norm.weight`, role: "attn_k_norm", layer: i, shape: [headDim], type: types.norm },
            { name: `${p}ffn_norm.weight`, role: "ffn_norm", layer: i, shape: [hidden], type: types.norm },
            { name: `${p}ffn_gate.weight`, role: "ffn_gate", layer: i, shape: [hidden, ffn], type: types.ffn },
            { name: `${p}ffn_up.weight`, role: "ffn_up", layer: i, shape: [hidden, ffn], type: types.ffn },
            { name: `${p}ffn_down.weight`, role: "ffn_down", layer: i, shape: [ffn, hidden], type: types.ffn },
        );
    }
    reqs.push({ name: "output_norm.weight", role: "output_norm", shape: [hidden], type: types.norm });
    if (!tiedOutput) reqs.push({ name: "output.weight", role: "output", shape: [hidden, vocabSize], type: types.output });
    return reqs;
}

/** Assemble metadata + tensors of a qwen3 GGUF. */
export function buildQwen3(options: Qwen3ModelOptions): GgufFile {
    const { shape, vocab } = options;
    if (shape.hidden % 32 !== 0 && Object.values(options.types).includes(GgmlType.Q8_0))
        throw new Error("Q8_0 needs hidden % 32 == 0");
    const tied = options.tiedOutput ?? false;
    const requests = qwen3TensorRequests(shape, vocab.size, options.types, tied);
    const tensors = requests.map((req) => {
        const t = options.weights(req);
        if (t.name !== req.name || t.type !== req.type || t.shape.join() !== req.shape.join())
            throw new Error(`weight source returned a mismatching tensor for ${req.name}`);
        return t;
    });
    tensors.push(...(options.extraTensors ?? []));
    const parameterCount = tensors.reduce((n, t) => n + elementCount(t.shape), 0);
    const a = "qwen3";
    const metadata: Array<[string, GgufValue]> = [
        ["general.architecture", kv.str(a)],
        ["general.type", kv.str("model")],
        ["general.name", kv.str(options.name)],
        ["general.file_type", kv.u32(options.fileType)],
        ["general.quantization_version", kv.u32(2)],
        ["general.parameter_count", kv.u64(parameterCount)],
        [`${a}.block_count`, kv.u32(shape.layers)],
        [`${a}.context_length`, kv.u32(shape.contextLength)],
        [`${a}.embedding_length`, kv.u32(shape.hidden)],
        [`${a}.feed_forward_length`, kv.u32(shape.ffn)],
        [`${a}.attention.head_count`, kv.u32(shape.heads)],
        [`${a}.attention.head_count_kv`, kv.u32(shape.kvHeads)],
        [`${a}.attention.key_length`, kv.u32(shape.headDim)],
        [`${a}.attention.value_length`, kv.u32(shape.headDim)],
        [`${a}.rope.freq_base`, kv.f32(shape.ropeFreqBase ?? 1_000_000)],
        [`${a}.attention.layer_norm_rms_epsilon`, kv.f32(shape.rmsEps ?? 1e-6)],
        ["tokenizer.ggml.model", kv.str("gpt2")],
        ["tokenizer.ggml.pre", kv.str("qwen2")],
        ["tokenizer.ggml.tokens", kv.strs(vocab.tokens)],
        ["tokenizer.ggml.token_type", kv.arr(GgufValueType.INT32, vocab.types)],
        ["tokenizer.ggml.merges", kv.strs(vocab.merges)],
        ["tokenizer.ggml.eos_token_id", kv.u32(vocab.eos)],
        ["tokenizer.ggml.padding_token_id", kv.u32(vocab.pad)],
        ["tokenizer.ggml.bos_token_id", kv.u32(vocab.bos)],
        ["tokenizer.ggml.add_bos_token", kv.bool(false)],
        ["tokenizer.chat_template", kv.str(options.chatTemplate ?? QWEN3_CHAT_TEMPLATE)],
        ...(options.extraMetadata ?? []),
    ];
    return { metadata, tensors };
}

// ---------------------------------------------------------------------------
// weight sources

/** A tensor with every element equal to `value`. */
export function constantTensor(req: TensorRequest, value: number): TensorSpec {
    return rowTensor(req.name, req.shape, req.type, (_r, out) => out.fill(value));
}

/**
 * Random weights: norms are 1, matrices uniform with std 1/sqrt(fan_in) (fan_in = shape[0]),
 * seeded per tensor name so files are byte-for-byte deterministic.
 */
export function randomWeights(seed: string): WeightSource {
    return (req) => {
        if (req.shape.length === 1) return constantTensor(req, 1);
        const fanIn = req.shape[0]!;
        return randomTensor(req.name, req.shape, req.type, 1 / Math.sqrt(fanIn), seed);
    };
}
