/**
 * The engine's protocol-neutral vocabulary. Adapters (OpenAI, Ollama) translate their wire
 * formats into a GenerationRequest and render the EngineEvent stream back; nothing here
 * knows about either protocol or about llama.cpp.
 */

export interface ToolCall {
  id: string;
  name: string;
  /** the arguments object, already parsed */
  arguments: unknown;
}

export type EngineMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; reasoning?: string; toolCalls?: ToolCall[] }
  | { role: "tool"; content: string; toolCallId?: string; name?: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON schema of the arguments object */
  parameters?: Record<string, unknown>;
  /** the request field holding `parameters`, named when they cannot be enforced; default tools[i].function.parameters */
  field?: string;
}

export type ToolChoice = "none" | "auto" | "required" | { name: string };

export type ResponseFormat =
  | { type: "text" }
  /** param: the request field it came from, named when it cannot be enforced (default response_format) */
  | { type: "json"; schema?: Record<string, unknown>; param?: string }
  /** the output is exactly one of these strings */
  | { type: "choice"; choices: string[] };

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  repeatPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** recent tokens the repeat penalties look at (node-llama-cpp's default 64); -1 = the whole context, 0 turns them off */
  repeatLastN?: number;
  /** token id → value added to its logit; -100 bans the token */
  logitBias?: Record<number, number>;
}

/**
 * How a model is loaded (Ollama's load options). Unset fields mean the server's defaults: its
 * thread count, as many GPU layers as fit, memory mapping on, node-llama-cpp's batch size.
 * A request asking for other values than the loaded model's reloads it once nobody uses it.
 */
export interface LoadOptions {
  /** layers offloaded to the GPU; 0 keeps the model on the CPU */
  gpuLayers?: number;
  threads?: number;
  /** tokens evaluated per batch */
  batchSize?: number;
  useMmap?: boolean;
}

export interface GenerationRequest {
  model: string;
  messages: EngineMessage[];
  sampling: SamplingOptions;
  /** undefined = until the context is full */
  maxTokens?: number;
  /** tokens the prompt and the answer may use together, below the loaded context size (Ollama's num_ctx) */
  contextLimit?: number;
  stop: string[];
  tools: ToolDefinition[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
  responseFormat: ResponseFormat;
  /** true/false switch thinking; undefined keeps the model's default */
  reasoning?: boolean;
  /** the most tokens thinking may take (Anthropic's budget_tokens); undefined: node-llama-cpp's default */
  reasoningBudget?: number;
  /** independent answers to generate for the same prompt */
  n: number;
  /** undefined: no logprobs; a number: logprobs with that many alternatives per token */
  topLogprobs?: number;
  /** token ids placed before the rendered prompt: an earlier answer's context, to continue from it */
  prefix?: number[];
  /** a Jinja chat template to render the messages with instead of the model's own */
  chatTemplate?: string;
  /** predicted output (OpenAI's `prediction`): text the answer is expected to largely repeat, drafted from for speculative decoding; the answer is the same with or without it */
  prediction?: string;
  /** how long the model stays loaded once idle: undefined = the pool's default, Infinity = forever, 0 = unload after this request */
  keepAliveMs?: number;
  /** how the model is loaded: undefined fields = the server's defaults */
  load?: LoadOptions;
  signal?: AbortSignal;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "cancelled";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** prompt tokens reused from the sequence's cache instead of being evaluated */
  cachedTokens: number;
  /** with a prediction: drafted tokens the model confirmed, and drafted tokens it rejected */
  acceptedPredictionTokens?: number;
  rejectedPredictionTokens?: number;
}

/** Durations in nanoseconds, measured, as Ollama reports them. */
export interface Timings {
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
  totalNs: number;
}

/** What a finished request used, for metrics and request logs; `signal` tells which request it was. */
export interface UsageReport {
  model: string;
  signal?: AbortSignal;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  /** absent for embeddings, which generate nothing */
  timings?: Timings;
}

/** Told of every request the engine finishes; protocol-neutral, like the rest of the engine. */
export interface EngineObserver {
  finished(report: UsageReport): void;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  /** the most likely alternatives at this position, most likely first */
  top: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/** `choice` tells the answers of an n > 1 request apart; every choice ends with a finish event. */
export type EngineEvent =
  | { type: "reasoning"; choice: number; text: string }
  | { type: "content"; choice: number; text: string; logprobs?: TokenLogprob[] }
  | { type: "tool_call"; choice: number; call: ToolCall }
  /** stopSequence: the string of `stop` that ended the choice, when one did */
  | { type: "finish"; choice: number; finishReason: FinishReason; stopSequence?: string }
  /** context: the prompt's tokens followed by those generated for the last choice, to continue from */
  | { type: "done"; usage: Usage; timings: Timings; context: number[] };
