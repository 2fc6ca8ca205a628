import type { LoadOptions, SamplingOptions } from "./types.ts";

/** Ollama's option names (Modelfile PARAMETERs), as a request's `options` or a model's params layer hold them. */
export type OllamaOptions = Record<string, unknown>;

/** What Ollama options ask for, in the engine's terms; only the options present are set. */
export interface OptionValues {
  sampling: SamplingOptions;
  /** most tokens to generate; num_predict -1/-2 (until the context is full) leave it unset */
  maxTokens?: number;
  contextLimit?: number;
  stop?: string[];
  load: LoadOptions;
}

const number = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const integer = (v: unknown) => (typeof v === "number" && Number.isInteger(v) ? v : undefined);

/**
 * Reads the options Hearth acts on. Values of the wrong type are left out: a request's options are
 * validated by its schema first, and a model's params layer was written by Ollama or `create`.
 */
export function optionValues(options: OllamaOptions = {}): OptionValues {
  const predict = integer(options.num_predict);
  const stop = options.stop;
  const gpu = integer(options.num_gpu);
  return {
    sampling: dropUndefined({
      temperature: number(options.temperature),
      topK: integer(options.top_k),
      topP: number(options.top_p),
      minP: number(options.min_p),
      seed: integer(options.seed),
      repeatPenalty: number(options.repeat_penalty),
      presencePenalty: number(options.presence_penalty),
      frequencyPenalty: number(options.frequency_penalty),
      repeatLastN: integer(options.repeat_last_n),
    }),
    maxTokens: predict !== undefined && predict > 0 ? predict : undefined,
    contextLimit: integer(options.num_ctx),
    stop: typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop.filter((s): s is string => typeof s === "string") : undefined,
    // Ollama's "let the runtime decide" values (-1 layers, 0 threads) are the server's defaults.
    load: dropUndefined({
      gpuLayers: gpu === undefined || gpu < 0 ? undefined : gpu,
      threads: integer(options.num_thread) || undefined,
      batchSize: integer(options.num_batch),
      useMmap: typeof options.use_mmap === "boolean" ? options.use_mmap : undefined,
    }),
  };
}

export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
