import { TokenBias, type LlamaModel, type LLamaChatGenerateResponseOptions } from "node-llama-cpp";
import { InvalidRequestError } from "../errors.ts";
import type { SamplingOptions } from "./types.ts";

type LlamaSampling = Pick<LLamaChatGenerateResponseOptions, "temperature" | "topP" | "topK" | "minP" | "seed" | "repeatPenalty" | "tokenBias">;

/** Neutral sampling options → node-llama-cpp's, validated against the model (token ids exist). */
export function toLlamaSampling(model: LlamaModel, s: SamplingOptions, contextSize: number): LlamaSampling {
  const penalize = s.repeatPenalty !== undefined || s.presencePenalty !== undefined || s.frequencyPenalty !== undefined;
  return {
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    minP: s.minP,
    seed: s.seed,
    repeatPenalty: penalize
      ? {
          // node-llama-cpp would add its own 1.1 repeat penalty to a presence or frequency penalty asked for alone.
          penalty: s.repeatPenalty ?? 1,
          presencePenalty: s.presencePenalty,
          frequencyPenalty: s.frequencyPenalty,
          lastTokens: s.repeatLastN === -1 ? contextSize : s.repeatLastN,
        }
      : undefined,
    tokenBias: s.logitBias ? tokenBias(model, s.logitBias) : undefined,
  };
}

/** OpenAI semantics: the bias is added to the logit; -100 and below ban the token outright. */
function tokenBias(model: LlamaModel, bias: Record<number, number>): TokenBias {
  const result = new TokenBias(model.tokenizer);
  const vocabularySize = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? Infinity;
  for (const [id, value] of Object.entries(bias)) {
    const token = Number(id);
    if (!Number.isInteger(token) || token < 0 || token >= vocabularySize) {
      throw new InvalidRequestError(`logit_bias: ${id} is not a token id of this model (0..${vocabularySize - 1})`, `logit_bias.${id}`);
    }
    result.set(token as never, value <= -100 ? "never" : { logit: value });
  }
  return result;
}

/** Each of n choices samples with its own seed, reproducible from the request's (wrapped to 32 bits). */
export function choiceSeed(base: number, choice: number): number {
  return (((base + choice) % 2 ** 32) + 2 ** 32) % 2 ** 32;
}
