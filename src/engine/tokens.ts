import { LlamaVocabularyType, type LlamaModel, type Token } from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import type { ModelPool } from "./model-pool.ts";
import { checkTokenIds } from "./token-ids.ts";
import { InvalidRequestError } from "../errors.ts";
import { refuseLongerThanContext } from "./prompt-bound.ts";

export interface TokenizeRequest {
  /** undefined: the only model loaded, or else the only model there is */
  model?: string;
  text: string;
  /** put the tokens the model's vocabulary adds around a text (its BOS, its EOS) */
  addSpecial: boolean;
  /** read special-token text (`<|im_start|>`) as those tokens rather than as plain text */
  parseSpecial: boolean;
  signal?: AbortSignal;
}

/** A token and its text: a string, or its bytes when they are not valid UTF-8 on their own (part of a character). */
export interface TokenPiece {
  id: number;
  piece: string | number[];
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A model's tokenizer on its own, as llama.cpp's server offers it (/tokenize, /detokenize). Hearth
 * serves many models where llama.cpp serves one, so a request names its model, or means the
 * only one loaded or available.
 */
export class Tokens {
  constructor(
    readonly catalog: ModelCatalog,
    readonly pool: ModelPool,
  ) {}

  async tokenize(request: TokenizeRequest): Promise<{ model: ModelInfo; tokens: TokenPiece[] }> {
    const { model, value } = await this.withModel(request.model, request.signal, (model) => {
      // Tokenizing takes seconds per megabyte: a text no context of this model could ever hold is refused unread.
      refuseLongerThanContext(model, request.text, model.trainContextSize, "content", request.parseSpecial);
      const tokens = model.tokenize(request.text, request.parseSpecial);
      if (request.addSpecial) {
        if (model.tokens.shouldPrependBosToken && model.tokens.bos !== null) tokens.unshift(model.tokens.bos);
        if (model.tokens.shouldAppendEosToken && model.tokens.eos !== null) tokens.push(model.tokens.eos);
      }
      return tokens.map((id) => ({ id, piece: pieceOf(model, id) }));
    });
    return { model, tokens: value };
  }

  /** The tokens' text, special tokens written out, as llama.cpp's /detokenize does. */
  async detokenize(request: { model?: string; tokens: number[]; signal?: AbortSignal }): Promise<{ model: ModelInfo; text: string }> {
    const { model, value } = await this.withModel(request.model, request.signal, (model) => model.detokenize(checkTokenIds(model, request.tokens, "tokens"), true));
    return { model, text: value };
  }

  /** The model a request without one means: the only model loaded, else the only model in the catalog. */
  async defaultModel(): Promise<ModelInfo> {
    const running = this.pool.running();
    if (running.length === 1) return running[0]!.info;
    const all = await this.catalog.list();
    if (running.length === 0 && all.length === 1) return all[0]!;
    throw new InvalidRequestError(
      `model is required: ${running.length} models are loaded and ${all.length} are available, so which one to use cannot be told`,
      "model",
    );
  }

  private async withModel<T>(name: string | undefined, signal: AbortSignal | undefined, use: (model: LlamaModel) => T): Promise<{ model: ModelInfo; value: T }> {
    const info = name === undefined ? await this.defaultModel() : await this.catalog.get(name);
    const hold = await this.pool.hold(info, { signal });
    try {
      return { model: info, value: use(hold.loaded.model) };
    } finally {
      hold.release();
    }
  }
}

/** A token's text, as llama.cpp's /tokenize gives it with_pieces: a string when valid UTF-8, else its bytes. */
function pieceOf(model: LlamaModel, token: Token): string | number[] {
  const bytes = tokenBytes(model, token);
  if (bytes === undefined) return model.detokenize([token], true);
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return bytes;
  }
}

/**
 * A token's raw bytes where its text may be part of a character: node-llama-cpp hands back text,
 * with U+FFFD for a byte that does not make a character alone, so the bytes are read from the
 * vocabulary instead (SentencePiece's `<0xC3>` byte tokens, byte-level BPE's printable alphabet).
 */
function tokenBytes(model: LlamaModel, token: Token): number[] | undefined {
  const text = model.detokenize([token], true);
  if (!text.includes("\uFFFD")) return undefined;
  const vocab = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.[token];
  if (typeof vocab !== "string") return undefined;
  const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(vocab);
  if (byte) return [parseInt(byte[1]!, 16)];
  if (model.vocabularyType !== LlamaVocabularyType.bpe) return undefined;
  const bytes: number[] = [];
  for (const char of vocab) {
    const b = BYTE_OF_CHAR.get(char);
    if (b === undefined) return undefined;
    bytes.push(b);
  }
  return bytes;
}

/** GPT-2's byte-level BPE alphabet, reversed: each printable stand-in character → the byte it stands for. */
const BYTE_OF_CHAR = (() => {
  const map = new Map<string, number>();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
  return map;
})();
