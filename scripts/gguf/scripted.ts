/**
 * "Scripted" qwen3 weights: constructed (not trained) so that greedy decoding follows a programmed
 * token chain, whatever the prompt.
 *
 * Construction (hidden size n, dims: B=0 bias, FLAG=1, DEF=2, then one dim per "source" token, then one per override):
 * - token_embd: every token v is e_B + e_dim(v) (dim(v) = DEF for tokens without a rule).
 * - Every layer's attn_output / ffn_down is zero, except layer 0 when a context flag is used, so the residual
 *   stream at the last layer is the current token's embedding (+ the flag terms below).
 * - output: the logits of token v's successors are set to 60, 45, 30, ... in order of preference. The later
 *   preferences only matter when a grammar (e.g. node-llama-cpp's function-calling grammar) forbids the earlier ones.
 * - Optional context flag (layer 0): one attention head whose query is constant and whose keys are non-zero only at
 *   the flag tokens (e.g. </tool_response>) writes ~1 into the FLAG dim when any flag token is in the context.
 *   The query/key sit in the lowest-frequency RoPE pair so the score is ~position independent.
 *   The SwiGLU FFN then computes "current token is s AND flag" (gate reads dim(s), up reads FLAG) into an override
 *   dim, whose output row cancels s's normal successors and adds the override successors.
 */
import type { Qwen3Shape, TensorRequest, WeightSource } from "./qwen3.ts";
import type { Vocab } from "./tokenizer.ts";
import { rowTensor } from "./writer.ts";

export interface ScriptProgram {
    /** For each token (raw text, or a special token's text): its successors, most preferred first. */
    next: Array<[from: string, successors: string[]]>;
    /** Successors of every token without a rule. */
    fallback: string[];
    /** Once any of `tokens` is in the context, the `overrides` replace the normal rules of their tokens. */
    flag?: { tokens: string[]; overrides: Array<[from: string, successors: string[]]> };
}

/** Logits given to the 1st, 2nd, ... preferred successor (everything else gets 0). */
export const PREFERENCE_LOGITS = [60, 45, 30, 15] as const;

const DIM_B = 0;
const DIM_FLAG = 1;
const DIM_DEF = 2;
/** q_norm / k_norm weight of the flag head: attention score ≈ sqrt(headDim) * QK_NORM^2 */
const QK_NORM = 2.5;

export interface ScriptLayout {
    /** token id -> residual dim */
    dims: Map<number, number>;
    overrideDims: number[];
    dimsUsed: number;
}

function silu(x: number) {
    return x / (1 + Math.exp(-x));
}

export function scriptedWeights(vocab: Vocab, shape: Qwen3Shape, program: ScriptProgram): { weights: WeightSource; layout: ScriptLayout } {
    const n = shape.hidden;
    const hd = shape.headDim;
    const id = (raw: string) => vocab.id(raw);
    const pref = (list: string[]) => {
        if (list.length > PREFERENCE_LOGITS.length) throw new Error(`at most ${PREFERENCE_LOGITS.length} successors per token`);
        return list.map((t, i) => [id(t), PREFERENCE_LOGITS[i]!] as const);
    };

    const next = new Map<number, ReturnType<typeof pref>>();
    for (const [from, to] of program.next) {
        const f = id(from);
        if (next.has(f)) throw new Error(`token ${JSON.stringify(from)} has two rules`);
        next.set(f, pref(to));
    }
    const fallback = pref(program.fallback);
    const flagTokens = (program.flag?.tokens ?? []).map(id);
    const overrides = (program.flag?.overrides ?? []).map(([from, to]) => ({ from: id(from), to: pref(to) }));
    if (new Set(overrides.map((o) => o.from)).size !== overrides.length) throw new Error("duplicate override");

    const dims = new Map<number, number>();
    let nextDim = DIM_DEF + 1;
    for (const t of [...next.keys(), ...flagTokens, ...overrides.map((o) => o.from)])
        if (!dims.has(t)) dims.set(t, nextDim++);
    const overrideDims = overrides.map(() => nextDim++);
    if (nextDim > n) throw new Error(`script needs ${nextDim} hidden dims, model has ${n}`);
    if (overrides.length > shape.ffn) throw new Error("not enough FFN rows for the overrides");
    const useFlag = flagTokens.length > 0;
    if (useFlag && overrides.length === 0) throw new Error("flag without overrides");

    const dimOf = (t: number) => dims.get(t) ?? DIM_DEF;
    const rulesOf = (t: number) => next.get(t) ?? fallback;

    // normalized magnitude of each non-zero residual entry when k entries are ~1 (RMSNorm with weight 1)
    const c = (k: number) => Math.sqrt(n / k);

    // output matrix, sparse by row (token)
    const out = new Map<number, Array<[dim: number, value: number]>>();
    const add = (tok: number, dim: number, value: number) => {
        let row = out.get(tok);
        if (row == null) out.set(tok, (row = []));
        row.push([dim, value]);
    };
    for (const [t, d] of [...dims.entries(), [-1, DIM_DEF] as const]) {
        const rules = t === -1 ? fallback : rulesOf(t);
        for (const [succ, logit] of rules) add(succ, d, logit / c(2));
    }
    overrides.forEach((o, r) => {
        const od = overrideDims[r]!;
        // with the flag and the override active, the residual has 4 entries ~1: B, dim(s), FLAG, override
        for (const [succ, logit] of rulesOf(o.from)) add(succ, od, -logit / c(2));
        for (const [succ, logit] of o.to) add(succ, od, logit / c(4));
    });

    // FFN override strength: ffn input has 3 entries ~1 (B, dim(s), FLAG) -> each c(3)
    const ffnProduct = silu(c(3)) * c(3);
    const qRow = hd / 2 - 1; // lowest-frequency NEOX RoPE pair is (hd/2 - 1, hd - 1)

    const weights: WeightSource = (req: TensorRequest) => {
        const l0 = req.layer === 0 && useFlag;
        const rows = (fill: (row: number, out: Float32Array) => void) => rowTensor(req.name, req.shape, req.type, fill);
        const zeros = () => rows(() => {});
        const ones = () => rows((_r, o) => o.fill(1));
        switch (req.role) {
            case "token_embd":
                return rows((tok, o) => {
                    o[DIM_B] = 1;
                    o[dimOf(tok)] = 1;
                });
            case "output":
                return rows((tok, o) => {
                    for (const [d, v] of out.get(tok) ?? []) o[d] = o[d]! + v;
                });
            case "output_norm":
            case "attn_norm":
            case "ffn_norm":
                return ones();
            case "attn_q_norm":
            case "attn_k_norm":
                return l0 ? rows((_r, o) => o.fill(QK_NORM)) : ones();
            case "attn_q":
                return l0 ? rows((r, o) => { if (r === qRow) o[DIM_B] = 1; }) : zeros();
            case "attn_k":
                return l0 ? rows((r, o) => { if (r === qRow) for (const f of flagTokens) o[dimOf(f)] = 1; }) : zeros();
            case "attn_v":
                return l0 ? rows((r, o) => { if (r === 0) for (const f of flagTokens) o[dimOf(f)] = 1; }) : zeros();
            case "attn_output":
                // v at a flag token = c(2) (its layer input is e_B + e_dim(f)); head 0, dim 0 -> FLAG = 1
                return l0 ? rows((r, o) => { if (r === DIM_FLAG) o[0] = 1 / c(2); }) : zeros();
            case "ffn_gate":
                return l0 ? rows((r, o) => { if (r < overrides.length) o[dimOf(overrides[r]!.from)] = 1; }) : zeros();
            case "ffn_up":
                return l0 ? rows((r, o) => { if (r < overrides.length) o[DIM_FLAG] = 1; }) : zeros();
            case "ffn_down":
                return l0 ? rows((r, o) => {
                    const k = overrideDims.indexOf(r);
                    if (k >= 0) o[k] = 1 / ffnProduct;
                }) : zeros();
        }
    };
    return { weights, layout: { dims, overrideDims, dimsUsed: nextDim } };
}
