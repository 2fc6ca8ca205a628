import { GgmlType, readGgufFileInfo } from "node-llama-cpp";

export type GgufValue = string | number | boolean | GgufValue[];

export interface GgufContents {
  /** every key/value under its dotted GGUF key ("qwen3.context_length"), 64-bit integers as numbers */
  keyValues: Record<string, GgufValue>;
  tensors: Array<{ name: string; type: string; shape: number[] }>;
  /** the text of each token that ends generation (end of sequence, of turn, of message) */
  stopTokens: string[];
}

const END_OF_GENERATION_KEYS = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"];

/**
 * A model's whole GGUF header, token arrays included: the catalog leaves those out of what it
 * keeps for every model (a large vocabulary is megabytes), so introspection reads the file again.
 */
export async function readGgufContents(path: string): Promise<GgufContents> {
  const file = await readGgufFileInfo(path, { logWarnings: false });
  const keyValues: Record<string, GgufValue> = {};
  flatten(file.metadata as Record<string, unknown>, "", keyValues);
  const tokens = keyValues["tokenizer.ggml.tokens"];
  const stopIds = new Set(END_OF_GENERATION_KEYS.map((key) => keyValues[key]).filter((id) => typeof id === "number"));
  return {
    keyValues,
    tensors: (file.tensorInfo ?? []).map((tensor) => ({
      name: tensor.name,
      type: GgmlType[tensor.ggmlType] ?? String(tensor.ggmlType),
      shape: tensor.dimensions.map(Number),
    })),
    stopTokens: Array.isArray(tokens) ? [...stopIds].map((id) => tokens[id]).filter((text) => typeof text === "string") : [],
  };
}

/** node-llama-cpp nests keys at their dots; GGUF's own keys are the dotted paths. */
function flatten(node: Record<string, unknown>, prefix: string, into: Record<string, GgufValue>): void {
  for (const [key, value] of Object.entries(node)) {
    const path = prefix + key;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) flatten(value as Record<string, unknown>, `${path}.`, into);
    else into[path] = plain(value);
  }
}

/**
 * JSON has no bigint: 64-bit values become numbers (exact up to 2^53, as Ollama's clients read
 * them anyway). GGUF's floats are float32: each is written as the shortest decimal that is the
 * same float32 (1e-6, not its float64 expansion 9.999999974752427e-7).
 */
function plain(value: unknown): GgufValue {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "number" && !Number.isInteger(value) && Math.fround(value) === value) return shortestFloat32(value);
  return value as GgufValue;
}

function shortestFloat32(value: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const decimal = Number(value.toPrecision(digits));
    if (Math.fround(decimal) === value) return decimal;
  }
  return value;
}
