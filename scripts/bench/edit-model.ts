import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MODEL_DIR, GENERATOR_KEY } from "../gen-model.ts";
import { buildQwen3 } from "../gguf/qwen3.ts";
import { scriptedWeights } from "../gguf/scripted.ts";
import { QWEN3_VOCAB_SIZE, Vocab } from "../gguf/tokenizer.ts";
import { GgmlType, kv, LlamaFileType, readGgufHeader, writeGguf } from "../gguf/writer.ts";

/** Bump whenever the model's bytes change. */
const TAG = "hearth-bench-edit/1";
const WORDS = 500;

/** Words of three letters: each is one token of the model's vocabulary, and the document's text tokenizes back into exactly them. */
function word(i: number): string {
  const letter = (n: number) => String.fromCharCode(97 + (n % 26));
  return ` ${letter(Math.floor(i / 676))}${letter(Math.floor(i / 26))}${letter(i)}`;
}

/** The document the model writes: WORDS distinct word tokens, then ".". */
export const EDITED_DOCUMENT = Array.from({ length: WORDS }, (_, i) => word(i)).join("") + ".";

/**
 * The document before the edit: the model's answer with every 100th word replaced by one it does
 * not write. A prediction of it holds the answer but for those five words, as a client's copy of
 * a file holds the edited file but for the edited lines.
 */
export const ORIGINAL_DOCUMENT = Array.from({ length: WORDS }, (_, i) => (i % 100 === 50 ? word(WORDS + i) : word(i))).join("") + ".";

/**
 * A model of the benchmark preset's shape (Qwen3-0.6B's layers and vocabulary, Q8_0), so that a
 * decode step costs what it costs there, with scripted weights (scripts/gguf/scripted.ts) whose
 * greedy answer to any prompt is EDITED_DOCUMENT. The benchmark preset's random weights cannot
 * stand in: their answers are placeholder tokens whose text does not tokenize back into them, so
 * no prediction could match one. The output matrix is not tied to the embeddings, as the script
 * needs; that adds a matrix but not a step's work. About 800 MB, written once to .cache/models.
 */
export async function ensureEditModel(dir = DEFAULT_MODEL_DIR): Promise<string> {
  const path = join(dir, "bench-edit.gguf");
  try {
    if (readGgufHeader(path, [GENERATOR_KEY]).metadata[GENERATOR_KEY] === TAG) return path;
  } catch {
    // missing or unreadable: written below
  }
  mkdirSync(dir, { recursive: true });
  const words = Array.from({ length: WORDS * 2 }, (_, i) => word(i));
  const vocab = new Vocab({ tokens: words, padTo: QWEN3_VOCAB_SIZE });
  const answer = [...words.slice(0, WORDS), ".", "<|im_end|>"];
  const shape = { hidden: 1024, layers: 28, heads: 16, kvHeads: 8, headDim: 128, ffn: 3072, contextLength: 40960 };
  const { weights } = scriptedWeights(vocab, shape, {
    next: [
      // the chat template's generation prompt ends with a newline
      ["\n", [answer[0]!]],
      ["\n\n", [answer[0]!]],
      ...answer.slice(0, -1).map((token, i): [string, string[]] => [token, [answer[i + 1]!]]),
    ],
    fallback: ["<|im_end|>"],
  });
  const file = buildQwen3({
    name: "Hearth Bench Qwen3 0.6B-shaped, scripted document edit",
    shape,
    vocab,
    types: { norm: GgmlType.F32, embd: GgmlType.Q8_0, output: GgmlType.Q8_0, attn: GgmlType.Q8_0, ffn: GgmlType.Q8_0 },
    fileType: LlamaFileType.MOSTLY_Q8_0,
    weights,
  });
  // near the start, so that the check above need not read the vocabulary
  file.metadata.splice(1, 0, [GENERATOR_KEY, kv.str(TAG)]);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeGguf(tmp, file);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return path;
}
