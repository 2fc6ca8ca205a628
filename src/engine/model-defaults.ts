import type { ModelInfo } from "../models/catalog.ts";
import { dropUndefined, optionValues } from "./ollama-options.ts";
import type { EngineMessage, LoadOptions, SamplingOptions } from "./types.ts";

interface Defaultable {
  sampling: SamplingOptions;
  stop: string[];
  contextLimit?: number;
  load?: LoadOptions;
}

/**
 * A stored model's parameters (its params layer) fill what a request left unset, in every dialect,
 * as Ollama's OpenAI layer inherits them from its native one. Plain GGUF files have none.
 */
export function withModelParameters<T extends Defaultable>(request: T, info: ModelInfo): T {
  if (!info.stored?.parameters) return request;
  const defaults = optionValues(info.stored.parameters);
  return {
    ...request,
    sampling: { ...defaults.sampling, ...dropUndefined(request.sampling) },
    stop: request.stop.length > 0 ? request.stop : (defaults.stop ?? []),
    contextLimit: request.contextLimit ?? defaults.contextLimit,
    load: { ...defaults.load, ...dropUndefined(request.load ?? {}) },
  };
}

/** The stored model's default most tokens to generate (num_predict), for a chat request that set none. */
export function modelMaxTokens(requested: number | undefined, info: ModelInfo): number | undefined {
  return requested ?? (info.stored?.parameters ? optionValues(info.stored.parameters).maxTokens : undefined);
}

/**
 * Ollama's chat prompt: the model's stored conversation (Modelfile MESSAGE) before the request's
 * messages, and its system prompt first unless the request brings its own.
 */
export function withModelMessages(messages: EngineMessage[], info: ModelInfo): EngineMessage[] {
  const stored = info.stored;
  if (!stored) return messages;
  const conversation = (stored.messages ?? []).flatMap((m): EngineMessage[] =>
    m.role === "system" || m.role === "user" || m.role === "assistant" ? [{ role: m.role, content: m.content }] : [],
  );
  const all = [...conversation, ...messages];
  return stored.system && messages[0]?.role !== "system" ? [{ role: "system", content: stored.system }, ...all] : all;
}
