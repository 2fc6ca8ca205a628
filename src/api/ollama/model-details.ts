import { t, type Static } from "elysia";
import type { ModelInfo } from "../../models/catalog.ts";

export const ModelDetails = t.Object({
  parent_model: t.String({ description: "Always empty: every model is its own GGUF file" }),
  format: t.Literal("gguf"),
  family: t.String({ description: "general.architecture" }),
  families: t.Array(t.String()),
  parameter_size: t.String({ description: 'Parameter count as Ollama writes it: "751.63M", "7.6B", "180K"' }),
  quantization_level: t.String({ description: 'The file type: "Q8_0", "Q4_K_M", "F16"' }),
  context_length: t.Optional(t.Integer({ description: "The context length the model was trained with" })),
  embedding_length: t.Optional(t.Integer()),
});
export type ModelDetailsT = Static<typeof ModelDetails>;

/** The `details` object of /api/tags, /api/show and /api/ps. */
export function modelDetails(model: ModelInfo): ModelDetailsT {
  const embeddingLength = (model.metadata as Record<string, Record<string, unknown> | undefined>)[model.architecture]?.embedding_length;
  return {
    parent_model: "",
    format: "gguf",
    family: model.architecture,
    families: [model.architecture],
    parameter_size: humanNumber(model.parameterCount),
    quantization_level: model.quantization,
    ...(model.contextLength > 0 ? { context_length: model.contextLength } : {}),
    ...(typeof embeddingLength === "number" ? { embedding_length: embeddingLength } : {}),
  };
}

/** Ollama's format.HumanNumber: whole numbers bare, else one decimal for billions and two for millions. */
export function humanNumber(n: number): string {
  const scaled = (unit: number, digits: number) => (Number.isInteger(n / unit) ? String(n / unit) : goFixed(n / unit, digits));
  if (n >= 1e9) return `${scaled(1e9, 1)}B`;
  if (n >= 1e6) return `${scaled(1e6, 2)}M`;
  if (n >= 1e3) return `${goFixed(n / 1e3, 0)}K`;
  return String(n);
}

/**
 * Go's %.Nf: the float's exact value rounded, ties to even. toFixed rounds exact ties up, and an
 * exact tie at N decimals is a float whose value times 2^(N+1) is an odd integer (N ≤ 2).
 */
function goFixed(x: number, digits: number): string {
  const half = x * 2 ** (digits + 1);
  if (!Number.isInteger(half) || half % 2 === 0) return x.toFixed(digits);
  const below = Math.floor(x * 10 ** digits);
  return ((below % 2 === 0 ? below : below + 1) / 10 ** digits).toFixed(digits);
}
