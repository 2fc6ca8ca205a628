/**
 * Byte-level BPE vocabulary in the style of GPT-2 / Qwen (tokenizer.ggml.model = "gpt2", pre = "qwen2").
 *
 * - ids 0..255 are the 256 byte tokens, in GPT-2's bytes_to_unicode order (like Qwen: id 0 is "!").
 * - then merged tokens. Every multi-character token is reachable through merges; merges are added so that
 *   running BPE on a requested token's own text yields exactly that token (intermediate tokens are added as needed).
 * - then the Qwen special tokens (<|endoftext|>, <|im_start|>, <|im_end|>, ..., <think>, </think>),
 *   optionally at Qwen3's real ids (151643...) with filler tokens padding the vocab.
 */

export enum TokenType {
    NORMAL = 1,
    UNKNOWN = 2,
    CONTROL = 3,
    USER_DEFINED = 4,
    UNUSED = 5,
    BYTE = 6,
}

// ---------------------------------------------------------------------------
// GPT-2 byte <-> unicode mapping

function buildByteMapping() {
    const bs: number[] = [];
    for (let b = 33; b <= 126; b++) bs.push(b);
    for (let b = 161; b <= 172; b++) bs.push(b);
    for (let b = 174; b <= 255; b++) bs.push(b);
    const cs = bs.slice();
    let n = 0;
    for (let b = 0; b < 256; b++) {
        if (!bs.includes(b)) {
            bs.push(b);
            cs.push(256 + n);
            n++;
        }
    }
    const byteToChar: string[] = new Array(256);
    const charToByte = new Map<string, number>();
    for (let i = 0; i < 256; i++) {
        const ch = String.fromCodePoint(cs[i]!);
        byteToChar[bs[i]!] = ch;
        charToByte.set(ch, bs[i]!);
    }
    /** byte tokens in GPT-2 vocab order (id i <-> bs[i]) */
    const byteTokens = bs.map((b) => byteToChar[b]!);
    return { byteToChar, charToByte, byteTokens };
}

const { byteToChar: BYTE_TO_CHAR, charToByte: CHAR_TO_BYTE, byteTokens: BYTE_TOKENS } = buildByteMapping();
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Raw text -> token text (UTF-8 bytes through bytes_to_unicode), e.g. " the" -> "Ġthe", "\n" -> "Ċ". */
export function toTokenText(raw: string): string {
    let s = "";
    for (const b of utf8.encode(raw)) s += BYTE_TO_CHAR[b];
    return s;
}

/** Token text -> raw text (inverse of {@link toTokenText}). */
export function fromTokenText(text: string): string {
    const bytes: number[] = [];
    for (const ch of text) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b == null) throw new Error(`character ${JSON.stringify(ch)} is not a byte-level BPE character`);
        bytes.push(b);
    }
    return utf8Decoder.decode(new Uint8Array(bytes));
}

/** llama.cpp's regex for tokenizer.ggml.pre = "qwen2" (same as Qwen2/Qwen3's tokenizer.json). */
export const QWEN2_PRETOKENIZER_REGEX =
    /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export function preTokenize(text: string): string[] {
    return text.match(QWEN2_PRETOKENIZER_REGEX) ?? [];
}

// ---------------------------------------------------------------------------
// special tokens

export interface SpecialTokenDef {
    text: string;
    type: TokenType.CONTROL | TokenType.USER_DEFINED;
}

/**
 * Qwen3's added tokens, in their real order (ids 151643..151668 in Qwen3). The FIM / repo tokens are CONTROL here
 * (llama.cpp would force that anyway, with a warning per token).
 */
export const QWEN3_SPECIAL_TOKENS: readonly SpecialTokenDef[] = [
    { text: "<|endoftext|>", type: TokenType.CONTROL },
    { text: "<|im_start|>", type: TokenType.CONTROL },
    { text: "<|im_end|>", type: TokenType.CONTROL },
    { text: "<|object_ref_start|>", type: TokenType.CONTROL },
    { text: "<|object_ref_end|>", type: TokenType.CONTROL },
    { text: "<|box_start|>", type: TokenType.CONTROL },
    { text: "<|box_end|>", type: TokenType.CONTROL },
    { text: "<|quad_start|>", type: TokenType.CONTROL },
    { text: "<|quad_end|>", type: TokenType.CONTROL },
    { text: "<|vision_start|>", type: TokenType.CONTROL },
    { text: "<|vision_end|>", type: TokenType.CONTROL },
    { text: "<|vision_pad|>", type: TokenType.CONTROL },
    { text: "<|image_pad|>", type: TokenType.CONTROL },
    { text: "<|video_pad|>", type: TokenType.CONTROL },
    { text: "<tool_call>", type: TokenType.USER_DEFINED },
    { text: "</tool_call>", type: TokenType.USER_DEFINED },
    { text: "<|fim_prefix|>", type: TokenType.CONTROL },
    { text: "<|fim_middle|>", type: TokenType.CONTROL },
    { text: "<|fim_suffix|>", type: TokenType.CONTROL },
    { text: "<|fim_pad|>", type: TokenType.CONTROL },
    { text: "<|repo_name|>", type: TokenType.CONTROL },
    { text: "<|file_sep|>", type: TokenType.CONTROL },
    { text: "<tool_response>", type: TokenType.USER_DEFINED },
    { text: "</tool_response>", type: TokenType.USER_DEFINED },
    { text: "<think>", type: TokenType.USER_DEFINED },
    { text: "</think>", type: TokenType.USER_DEFINED },
];

/** Qwen3's id of <|endoftext|>; the other specials follow it. */
export const QWEN3_SPECIAL_TOKENS_START = 151643;
/** Qwen3's padded vocabulary size (embedding rows). */
export const QWEN3_VOCAB_SIZE = 151936;

/**
 * Common English / chat pieces so ordinary prompts tokenize into reasonable tokens
 * (the model never needs them, they only make prompts shorter).
 */
export const COMMON_TOKENS: readonly string[] = [
    "\n\n", "\n\n\n", "  ", "   ", "    ", " \n", ".\n", ".\n\n", ",", ". ", ":", ": ", "://", "\":", "\",", " \"", "{\"", "\"}", "}\n",
    "the", "The", " the", " The", " a", " A", " an", " and", " or", " of", " to", " in", " on", " at", " for", " with",
    " is", " are", " was", " be", " it", " It", " this", " This", " that", " you", " You", " your", " I", " me", " my",
    " we", " they", " he", " she", " not", " can", " will", " do", " does", " have", " has", " what", " What", " how",
    " How", " why", " when", " where", " who", " which", " if", " as", " by", " from", " about", " into", " one", " all",
    " more", " some", " there", " their", " would", " should", " could", " please", " Please", " thanks", " Thanks",
    "Hello", "Hi", "hello", " hello", " Hello", " world", " World", " say", " Say", " tell", " write", " Write", " answer",
    " question", " user", " assistant", "user", "assistant", "system", " system", " message", " function", " functions",
    " call", " tool", " tools", " name", "name", " arguments", "arguments", " json", " object", " XML", " tags",
    " provided", " signatures", " within", " return", " query", " may", " each", " assist", " weather", " Weather",
    " city", "city", " today", " time", " date", " number", " text", " word", " words", " story", " short", " long",
    " helpful", " Answer", " Question", " Yes", " No", " yes", " no", " OK", " ok", " true", " false", " null",
    "type", "string", "properties", "description", "parameters", " type", " string",
    "What", "How", "Why", "Who", "When", "Where", "Which", "Can", "Could", "Tell", "Write", "Please", "Thanks", "Thank",
    "I", "It", "This", "Is", "Do", "Yes", "No", "Sure", "OK", "Once", " upon", " once", " time", " test", "Test",
];

// ---------------------------------------------------------------------------
// vocabulary

export interface VocabOptions {
    /** Raw texts of extra tokens to add (merged from bytes). */
    tokens?: readonly string[];
    /** Include {@link COMMON_TOKENS} (default true). */
    common?: boolean;
    /**
     * Pad the vocabulary to this size with filler tokens "[PAD<id>]" (NORMAL, unreachable by merges).
     * When set, special tokens are placed at `specialsStart` (default: Qwen3's 151643).
     */
    padTo?: number;
    specialsStart?: number;
}

export class Vocab {
    readonly tokens: string[] = [];
    readonly types: TokenType[] = [];
    readonly merges: string[] = [];
    private readonly idByText = new Map<string, number>();
    private readonly ranks = new Map<string, number>();
    private readonly specialIds = new Map<string, number>();

    constructor(options: VocabOptions = {}) {
        for (const t of BYTE_TOKENS) this.push(t, TokenType.NORMAL);

        const requested = [...(options.common === false ? [] : COMMON_TOKENS), ...(options.tokens ?? [])];
        const unique = [...new Set(requested)].filter((t) => t.length > 0);
        // shorter tokens first, so their merges get the higher priority (as in trained BPE)
        const sorted = unique
            .map((raw, i) => ({ text: toTokenText(raw), i }))
            .sort((a, b) => [...a.text].length - [...b.text].length || a.i - b.i);
        for (const { text } of sorted) this.addMergedToken(text);

        const specialsStart = options.padTo != null ? (options.specialsStart ?? QWEN3_SPECIAL_TOKENS_START) : this.tokens.length;
        if (specialsStart < this.tokens.length) throw new Error(`vocab has ${this.tokens.length} tokens, more than specialsStart ${specialsStart}`);
        while (this.tokens.length < specialsStart) this.push(`[PAD${this.tokens.length}]`, TokenType.NORMAL);
        for (const s of QWEN3_SPECIAL_TOKENS) {
            this.specialIds.set(s.text, this.tokens.length);
            this.push(s.text, s.type, false);
        }
        if (options.padTo != null) {
            if (options.padTo < this.tokens.length) throw new Error(`padTo ${options.padTo} is smaller than the vocab (${this.tokens.length})`);
            while (this.tokens.length < options.padTo) this.push(`[PAD${this.tokens.length}]`, TokenType.NORMAL);
        }
    }

    private push(text: string, type: TokenType, index = true) {
        if (index && this.idByText.has(text)) throw new Error(`duplicate token ${JSON.stringify(text)}`);
        if (index) this.idByText.set(text, this.tokens.length);
        this.tokens.push(text);
        this.types.push(type);
    }

    /** Add merges until BPE over `text` (token text) yields a single token. */
    private addMergedToken(text: string) {
        for (;;) {
            const parts = this.bpe([...text]);
            if (parts.length === 1) return;
            const merged = parts[0]! + parts[1]!;
            this.ranks.set(`${parts[0]} ${parts[1]}`, this.merges.length);
            this.merges.push(`${parts[0]} ${parts[1]}`);
            if (!this.idByText.has(merged)) this.push(merged, TokenType.NORMAL);
        }
    }

    /** BPE over a sequence of token-text characters: repeatedly merge the best-ranked (leftmost on ties) pair. */
    bpe(symbols: string[]): string[] {
        const parts = symbols.slice();
        while (parts.length > 1) {
            let best = -1;
            let bestRank = Infinity;
            for (let i = 0; i < parts.length - 1; i++) {
                const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
                if (r !== undefined && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) break;
            parts.splice(best, 2, parts[best]! + parts[best + 1]!);
        }
        return parts;
    }

    get size() {
        return this.tokens.length;
    }

    /** Id of a normal token given its raw text (e.g. " the"), or of a special token (e.g. "<think>"). */
    id(raw: string): number {
        const special = this.specialIds.get(raw);
        if (special != null) return special;
        const id = this.idByText.get(toTokenText(raw));
        if (id == null) throw new Error(`token ${JSON.stringify(raw)} is not in the vocabulary`);
        return id;
    }

    has(raw: string): boolean {
        return this.specialIds.has(raw) || this.idByText.has(toTokenText(raw));
    }

    /** Raw text of a token id. */
    text(id: number): string {
        const t = this.tokens[id];
        if (t == null) throw new Error(`no token ${id}`);
        if (this.types[id] === TokenType.CONTROL || this.types[id] === TokenType.USER_DEFINED) return t;
        return fromTokenText(t);
    }

    special(text: string): number {
        const id = this.specialIds.get(text);
        if (id == null) throw new Error(`no special token ${text}`);
        return id;
    }

    get bos() { return this.special("<|endoftext|>"); }
    get eos() { return this.special("<|im_end|>"); }
    get pad() { return this.special("<|endoftext|>"); }

    /**
     * Tokenize like llama.cpp does for this vocab (special tokens are matched when `parseSpecial`;
     * USER_DEFINED ones always, like llama.cpp), then qwen2 pre-tokenization and BPE.
     */
    tokenize(text: string, parseSpecial = true): number[] {
        const specials = QWEN3_SPECIAL_TOKENS.filter((s) => parseSpecial || s.type === TokenType.USER_DEFINED)
            .map((s) => s.text)
            .sort((a, b) => b.length - a.length);
        const res: number[] = [];
        let rest = text;
        while (rest.length > 0) {
            let idx = -1;
            let which = "";
            for (const s of specials) {
                const i = rest.indexOf(s);
                if (i >= 0 && (idx < 0 || i < idx)) {
                    idx = i;
                    which = s;
                }
            }
            const plain = idx < 0 ? rest : rest.slice(0, idx);
            for (const word of preTokenize(plain)) {
                for (const piece of this.bpe([...toTokenText(word)])) {
                    const id = this.idByText.get(piece);
                    if (id == null) throw new Error(`internal: BPE piece ${piece} missing`);
                    res.push(id);
                }
            }
            if (idx < 0) break;
            res.push(this.special(which));
            rest = rest.slice(idx + which.length);
        }
        return res;
    }
}
