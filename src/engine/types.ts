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
}

export type ToolChoice = "none" | "auto" | "required" | { name: string };

export type ResponseFormat = { type: "text" } | { type: "json"; schema?: Record<string, unknown> };

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  repeatPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
}

export interface GenerationRequest {
  model: string;
  messages: EngineMessage[];
  sampling: SamplingOptions;
  /** undefined = until the context is full */
  maxTokens?: number;
  stop: string[];
  tools: ToolDefinition[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
  responseFormat: ResponseFormat;
  /** true/false switch thinking; undefined keeps the model's default */
  reasoning?: boolean;
  signal?: AbortSignal;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "cancelled";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** prompt tokens reused from the sequence's cache instead of being evaluated */
  cachedTokens: number;
}

/** Durations in nanoseconds, measured, as Ollama reports them. */
export interface Timings {
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
  totalNs: number;
}

export type EngineEvent =
  | { type: "reasoning"; text: string }
  | { type: "content"; text: string }
  | { type: "tool_call"; call: ToolCall }
  | { type: "done"; finishReason: FinishReason; usage: Usage; timings: Timings };

export class InvalidRequestError extends Error {
  constructor(message: string, readonly param?: string, readonly code?: string) {
    super(message);
  }
}
