import { t, type Static } from "elysia";
import type { LoadOptions, SamplingOptions } from "../../engine/types.ts";
import { optionValues, type OllamaOptions } from "../../engine/ollama-options.ts";

/** Ollama's defaults (docs/modelfile.mdx), not node-llama-cpp's greedy decoding. */
const DEFAULTS = { temperature: 0.8, topK: 40, topP: 0.9, repeatLastN: 64 };

/**
 * Options with nothing to act on: Hearth has no context shift, and llama.cpp's sampler as
 * node-llama-cpp exposes it has no typical sampling. Ollama ignores what it does not understand
 * with a warning; so does Hearth.
 */
const IGNORED: Record<string, string> = {
  num_keep: "Hearth never shifts the context (a prompt that does not fit is refused), so there is nothing to keep",
  typical_p: "node-llama-cpp has no locally typical sampling",
};

/** Past any context llama.cpp takes (the batch is capped at the context anyway): a larger num_batch is a mistake, not a setting. */
const MAX_BATCH = 2 ** 20;
/** Past any machine's CPU threads. */
const MAX_THREADS = 4096;

export const Options = t.Object(
  {
    num_keep: t.Optional(t.Integer({ description: "Accepted and ignored (logged): Hearth never shifts the context" })),
    seed: t.Optional(t.Integer({ description: "The same seed and request give the same answer; default random" })),
    num_predict: t.Optional(t.Integer({ description: "Most tokens to generate; -1 (default) or -2: until the context is full" })),
    top_k: t.Optional(t.Integer({ minimum: 0, description: "Default 40; 0 disables" })),
    top_p: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "Default 0.9" })),
    min_p: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "Default 0 (off)" })),
    typical_p: t.Optional(t.Number({ description: "Accepted and ignored (logged): node-llama-cpp has no typical sampling" })),
    repeat_last_n: t.Optional(t.Integer({ minimum: -1, description: "Tokens the repeat penalties look back at; default 64, 0 off, -1 the whole context" })),
    temperature: t.Optional(t.Number({ minimum: 0, description: "Default 0.8; 0 is greedy" })),
    repeat_penalty: t.Optional(t.Number({ minimum: 0, description: "Default 1 (off)" })),
    presence_penalty: t.Optional(t.Number({ description: "Default 0" })),
    frequency_penalty: t.Optional(t.Number({ description: "Default 0" })),
    stop: t.Optional(t.Union([t.String(), t.Array(t.String())], { description: "The answer ends before any of these" })),
    num_ctx: t.Optional(
      t.Integer({
        minimum: 1,
        description: "Tokens the prompt and the answer may use together. The loaded context is shared by every request, so a larger value is capped at it (hearth serve --ctx-size)",
      }),
    ),
    num_batch: t.Optional(
      t.Integer({ minimum: 1, maximum: MAX_BATCH, description: "Load option: tokens evaluated per batch, at most the context size (a larger one is capped at it); default node-llama-cpp's" }),
    ),
    num_gpu: t.Optional(t.Integer({ minimum: -1, description: "Load option: layers offloaded to the GPU, 0 none; -1 (default): as many as fit" })),
    num_thread: t.Optional(t.Integer({ minimum: 0, maximum: MAX_THREADS, description: "Load option: CPU threads; 0 (default): hearth serve --threads" })),
    use_mmap: t.Optional(t.Boolean({ description: "Load option: memory-map the weights; default true" })),
  },
  {
    additionalProperties: t.Unknown(),
    description:
      "Model parameters (Modelfile PARAMETERs); unknown ones are ignored with a warning in the server log. " +
      "Load options (num_batch, num_gpu, num_thread, use_mmap) other than the loaded model's reload it once the requests using it are done",
  },
);
export type OptionsT = Static<typeof Options>;

export interface GenerationOptions {
  sampling: SamplingOptions;
  maxTokens?: number;
  contextLimit?: number;
  stop: string[];
  load: LoadOptions;
}

const KNOWN = new Set(Object.keys(Options.properties));
const warned = new Set<string>();
/** Unknown option names are the client's to invent: past this many the log (and the set) stop growing. */
const MAX_WARNED = 100;

/**
 * A request's options over the model's own parameters (its params layer), over Ollama's defaults:
 * Ollama merges them option by option in that order.
 */
export function fromOptions(options: OptionsT = {}, modelParameters: OllamaOptions = {}): GenerationOptions {
  warnAboutIgnored(options);
  const values = optionValues({ ...modelParameters, ...options });
  return { ...values, sampling: { ...DEFAULTS, ...values.sampling }, stop: values.stop ?? [] };
}

/** The load options of a request over the model's parameters. */
export function loadOptionsOf(options: OptionsT = {}, modelParameters: OllamaOptions = {}): LoadOptions {
  return optionValues({ ...modelParameters, ...options }).load;
}

/** Once per option and server run: clients such as Open WebUI send the same options with every request. */
function warnAboutIgnored(options: Record<string, unknown>): void {
  for (const name of Object.keys(options)) {
    if (warned.has(name) || (KNOWN.has(name) && !(name in IGNORED)) || warned.size >= MAX_WARNED) continue;
    warned.add(name);
    console.warn(`hearth: ignoring option ${name}: ${IGNORED[name] ?? "not an option Hearth knows"}`);
  }
}
