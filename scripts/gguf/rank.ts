/**
 * A reranker in the shape of Qwen3-Reranker as llama.cpp converts it: a `qwen3` decoder whose GGUF has
 * `pooling_type` rank, two classifier labels ("yes", "no") and a `cls.output.weight` head, plus a
 * `tokenizer.chat_template.rerank` prompt with {query} and {document}. llama.cpp pools the last token's
 * normed hidden state, applies the head and (for qwen3) a softmax: the score is P("yes").
 *
 * Constructed (not trained) so that the score is the share of the evaluated tokens that are the keyword:
 * - token_embd: every token is e_B, the keyword's tokens e_B + e_KEY.
 * - Attention with zero q/k weights is uniform, so the last token's attention output is the mean of v over
 *   the whole prompt; v reads e_KEY scaled to 1 per keyword token, so that mean is the keyword share D.
 *   attn_output writes GAIN * D into e_SIG; the FFN is zero.
 * - cls.output's "yes" row reads e_SIG and e_B of the final RMS-normed state, the "no" row is zero:
 *   score = sigmoid((YES_WEIGHT * s - THRESHOLD) / sqrt(1 + s^2)) with s = GAIN * D, rising with D.
 */
import { buildQwen3, type Qwen3Shape, type TensorRequest, type WeightSource } from "./qwen3.ts";
import { preTokenize, Vocab } from "./tokenizer.ts";
import { GgmlType, type GgufFile, kv, LlamaFileType, rowTensor, type TensorSpec } from "./writer.ts";

/** The word the `rank` preset's score counts. */
export const RANK_KEYWORD = "fox";

/** llama.cpp's LLAMA_POOLING_TYPE_RANK */
const POOLING_TYPE_RANK = 4;
/** label 0 is the one whose probability node-llama-cpp reports as the score */
const RANK_LABELS = ["yes", "no"] as const;

/** Qwen3-Reranker's rerank prompt without its instruction line. */
export const RANK_TEMPLATE =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query. " +
    'Note that the answer can only be "yes" or "no".<|im_end|>\n' +
    "<|im_start|>user\n<Query>: {query}\n<Document>: {document}<|im_end|>\n" +
    "<|im_start|>assistant\n<think>\n\n</think>\n\n";

const DIM_B = 0;
const DIM_KEY = 1;
const DIM_SIG = 2;
const GAIN = 24;
const YES_WEIGHT = 5;
const THRESHOLD = 3;

/** The score the model gives a prompt of `total` tokens of which `keyword` are the keyword's. */
export function rankScore(keyword: number, total: number): number {
    const s = (GAIN * keyword) / total;
    return 1 / (1 + Math.exp(-(YES_WEIGHT * s - THRESHOLD) / Math.sqrt(1 + s * s)));
}

/** The template's own words as whole tokens, so the prompt around a query and document stays short. */
function rankTemplateTokens(): string[] {
    const plain = RANK_TEMPLATE.split(/<\|im_start\|>|<\|im_end\|>|<\/?think>|\{query\}|\{document\}/);
    return plain.flatMap((part) => preTokenize(part));
}

/** The keyword as tokens spell it: with or without a leading space or a capital. */
function keywordVariants(keyword: string): string[] {
    const capital = keyword.charAt(0).toUpperCase() + keyword.slice(1);
    return [keyword, ` ${keyword}`, capital, ` ${capital}`];
}

function keywordTokens(vocab: Vocab, keyword: string): Set<number> {
    const ids = new Set(keywordVariants(keyword).filter((raw) => vocab.has(raw)).map((raw) => vocab.id(raw)));
    if (ids.size === 0) throw new Error(`the vocabulary has no token for "${keyword}"`);
    return ids;
}

/** The decoder's weights and the classification head, for `shape` (heads share kv head 0; at least 3 hidden dims). */
function rankWeights(vocab: Vocab, shape: Qwen3Shape, keyword: string): { weights: WeightSource; head: TensorSpec } {
    const n = shape.hidden;
    const keyIds = keywordTokens(vocab, keyword);
    // RMSNorm turns a keyword token's e_B + e_KEY into sqrt(n/2) on each
    const keyNormed = Math.sqrt(n / 2);
    const weights: WeightSource = (req: TensorRequest) => {
        const rows = (fill: (row: number, out: Float32Array) => void) => rowTensor(req.name, req.shape, req.type, fill);
        switch (req.role) {
            case "token_embd":
                return rows((tok, o) => {
                    o[DIM_B] = 1;
                    if (keyIds.has(tok)) o[DIM_KEY] = 1;
                });
            case "attn_norm":
            case "ffn_norm":
            case "output_norm":
            case "attn_q_norm":
            case "attn_k_norm":
                return rows((_r, o) => o.fill(1));
            case "attn_v":
                return rows((r, o) => {
                    if (r === 0) o[DIM_KEY] = 1 / keyNormed;
                });
            case "attn_output":
                return rows((r, o) => {
                    if (r === DIM_SIG) o[0] = GAIN;
                });
            case "attn_q":
            case "attn_k":
            case "ffn_gate":
            case "ffn_up":
            case "ffn_down":
            case "output":
                return rows(() => {});
        }
    };
    // the final norm scales (e_B + s e_SIG) to sqrt(n) / sqrt(1 + s^2) times itself
    const head = rowTensor("cls.output.weight", [n, RANK_LABELS.length], GgmlType.F32, (label, o) => {
        if (label !== 0) return;
        o[DIM_SIG] = YES_WEIGHT / Math.sqrt(n);
        o[DIM_B] = -THRESHOLD / Math.sqrt(n);
    });
    return { weights, head };
}

const RANK_SHAPE: Qwen3Shape = { hidden: 64, layers: 1, heads: 2, kvHeads: 1, headDim: 32, ffn: 64, contextLength: 32768 };
const F32_TYPES = { norm: GgmlType.F32, embd: GgmlType.F32, output: GgmlType.F32, attn: GgmlType.F32, ffn: GgmlType.F32 };

/**
 * The reranker GGUF. `words`: raw texts made whole tokens besides the template's and the keyword's, so
 * that documents written with them have predictable lengths. F32 throughout: the head reads small
 * differences of a mean. The output matrix is tied to token_embd, as in Qwen3-Reranker-0.6B.
 */
export function buildRankModel(options: { name: string; words?: readonly string[] }): GgufFile {
    const vocab = new Vocab({ tokens: [...rankTemplateTokens(), ...keywordVariants(RANK_KEYWORD), ...(options.words ?? [])] });
    const { weights, head } = rankWeights(vocab, RANK_SHAPE, RANK_KEYWORD);
    return buildQwen3({
        name: options.name,
        shape: RANK_SHAPE,
        vocab,
        types: F32_TYPES,
        fileType: LlamaFileType.ALL_F32,
        tiedOutput: true,
        weights,
        extraTensors: [head],
        extraMetadata: [
            ["qwen3.pooling_type", kv.u32(POOLING_TYPE_RANK)],
            ["qwen3.classifier.output_labels", kv.strs(RANK_LABELS)],
            ["tokenizer.chat_template.rerank", kv.str(RANK_TEMPLATE)],
        ],
    });
}
