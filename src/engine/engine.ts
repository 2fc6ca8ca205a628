import { randomBytes } from "node:crypto";
import {
  LlamaChat,
  TokenMeter,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type Llama,
  type LlamaChatResponse,
  type LlamaChatResponseChunk,
  type LlamaGrammar,
} from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import { Channel } from "./channel.ts";
import { toChatHistory } from "./history.ts";
import type { ModelPool, SequenceLease } from "./model-pool.ts";
import {
  InvalidRequestError,
  type EngineEvent,
  type FinishReason,
  type GenerationRequest,
  type ToolCall,
} from "./types.ts";

export interface StartedGeneration {
  model: ModelInfo;
  events: AsyncIterable<EngineEvent>;
}

/**
 * The one engine behind every protocol. start() does everything that can fail with a
 * client error (unknown model, bad schema, prompt too long) before any event is produced,
 * so adapters can still answer with a proper status code; then it streams events.
 */
export class Engine {
  constructor(readonly llama: Llama, readonly catalog: ModelCatalog, readonly pool: ModelPool) {}

  async start(request: GenerationRequest): Promise<StartedGeneration> {
    const info = await this.catalog.get(request.model);
    if (!info.capabilities.includes("completion")) {
      throw new InvalidRequestError(`model "${request.model}" does not support chat or text generation`, "model");
    }
    const startedAt = process.hrtime.bigint();
    const grammar = await this.grammarFor(request);
    const lease = await this.pool.lease(info, request.signal);
    try {
      const plan = this.plan(lease, request);
      const events = this.run(lease, request, plan, grammar, startedAt);
      return { model: info, events };
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  private async grammarFor(request: GenerationRequest): Promise<LlamaGrammar | undefined> {
    const format = request.responseFormat;
    if (format.type !== "json") return undefined;
    if (activeTools(request)) {
      throw new InvalidRequestError("response_format json cannot be combined with tools; pass tool_choice \"none\" or drop one of them", "response_format");
    }
    try {
      return format.schema
        ? await this.llama.createGrammarForJsonSchema(format.schema as never)
        : await this.llama.getGrammarFor("json");
    } catch (err) {
      throw new InvalidRequestError(`response_format schema is not supported: ${(err as Error).message}`, "response_format");
    }
  }

  /** Renders the prompt once to count its tokens: a prompt that does not fit is refused, never truncated. */
  private plan(lease: SequenceLease, request: GenerationRequest) {
    const history: ChatHistoryItem[] = toChatHistory(request.messages);
    if (history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });
    const wrapper = lease.loaded.chatWrapper(request.reasoning);
    const functions = activeTools(request) ? toFunctions(request) : undefined;
    const { contextText } = wrapper.generateContextState({ chatHistory: history, availableFunctions: functions });
    const promptTokens = contextText.tokenize(lease.loaded.model.tokenizer).length;
    const contextSize = lease.loaded.contextSize;
    if (promptTokens >= contextSize) {
      throw new InvalidRequestError(
        `This model's maximum context length is ${contextSize} tokens, but the prompt is ${promptTokens} tokens long.`,
        "messages",
        "context_length_exceeded",
      );
    }
    const room = contextSize - promptTokens;
    const maxTokens = Math.min(request.maxTokens ?? room, room);
    return { history, wrapper, functions, promptTokens, maxTokens };
  }

  private run(
    lease: SequenceLease,
    request: GenerationRequest,
    plan: ReturnType<Engine["plan"]>,
    grammar: LlamaGrammar | undefined,
    startedAt: bigint,
  ): AsyncIterable<EngineEvent> {
    const channel = new Channel<EngineEvent>();
    const abort = new AbortController();
    const onClientAbort = () => abort.abort();
    request.signal?.addEventListener("abort", onClientAbort, { once: true });

    const chat = new LlamaChat({ contextSequence: lease.sequence, chatWrapper: plan.wrapper });
    const meterBefore = lease.sequence.tokenMeter.getState();
    let firstTokenAt: bigint | undefined;
    let reasoningTokens = 0;
    let contentStarted = false;
    let sawReasoning = false;
    const toolCalls: ToolCall[] = [];
    const s = request.sampling;

    const generation = chat.generateResponse(plan.history, {
      signal: abort.signal,
      stopOnAbortSignal: true,
      maxTokens: plan.maxTokens,
      temperature: s.temperature,
      topP: s.topP,
      topK: s.topK,
      minP: s.minP,
      seed: s.seed,
      repeatPenalty:
        s.repeatPenalty !== undefined || s.presencePenalty !== undefined || s.frequencyPenalty !== undefined
          ? { penalty: s.repeatPenalty, presencePenalty: s.presencePenalty, frequencyPenalty: s.frequencyPenalty }
          : undefined,
      customStopTriggers: request.stop.length > 0 ? request.stop : undefined,
      budgets: request.reasoning === false ? { thoughtTokens: 0 } : undefined,
      onToken: () => {
        firstTokenAt ??= process.hrtime.bigint();
      },
      onResponseChunk: (chunk: LlamaChatResponseChunk) => {
        if (chunk.type === "segment") {
          if (chunk.segmentType !== "thought") return;
          reasoningTokens += chunk.tokens.length;
          if (chunk.text) {
            sawReasoning = true;
            channel.push({ type: "reasoning", text: chunk.text });
          }
          return;
        }
        let text = chunk.text;
        // Templates separate the answer from the thinking block with blank lines; they are layout, not content.
        if (!contentStarted && sawReasoning) text = text.replace(/^\s+/, "");
        if (!text) return;
        contentStarted = true;
        channel.push({ type: "content", text });
      },
      ...(plan.functions
        ? {
            functions: plan.functions,
            maxParallelFunctionCalls: request.parallelToolCalls ? undefined : 1,
            onFunctionCall: (call: { functionName: string; params: unknown }) => {
              const toolCall = { id: newToolCallId(), name: call.functionName, arguments: call.params ?? {} };
              toolCalls.push(toolCall);
              channel.push({ type: "tool_call", call: toolCall });
            },
          }
        : { grammar }),
    } as never) as Promise<LlamaChatResponse<ChatModelFunctions>>;

    generation
      .then((result) => {
        const now = process.hrtime.bigint();
        const used = TokenMeter.diff(lease.sequence.tokenMeter.getState(), meterBefore);
        const firstAt = firstTokenAt ?? now;
        channel.push({
          type: "done",
          finishReason: finishReason(result.metadata.stopReason, toolCalls.length > 0),
          usage: {
            promptTokens: plan.promptTokens,
            completionTokens: used.usedOutputTokens,
            reasoningTokens,
            cachedTokens: Math.max(0, plan.promptTokens - used.usedInputTokens),
          },
          timings: {
            loadNs: lease.loadNs,
            promptEvalNs: Number(firstAt - startedAt) - lease.loadNs,
            evalNs: Number(now - firstAt),
            totalNs: Number(now - startedAt),
          },
        });
        channel.close();
      })
      .catch((err) => channel.fail(err))
      .finally(() => {
        request.signal?.removeEventListener("abort", onClientAbort);
        chat.dispose({ disposeSequence: false });
        lease.release();
      });

    return (async function* () {
      try {
        yield* channel;
      } finally {
        // A consumer that stops reading (client gone) cancels the generation.
        abort.abort();
      }
    })();
  }
}

function activeTools(request: GenerationRequest): boolean {
  return request.tools.length > 0 && request.toolChoice !== "none";
}

function toFunctions(request: GenerationRequest): ChatModelFunctions {
  const choice = request.toolChoice;
  const offered = typeof choice === "object" ? request.tools.filter((t) => t.name === choice.name) : request.tools;
  return Object.fromEntries(
    offered.map((tool) => [tool.name, { description: tool.description, params: tool.parameters as never }]),
  );
}

function finishReason(stopReason: string, calledTools: boolean): FinishReason {
  if (calledTools) return "tool_calls";
  switch (stopReason) {
    case "maxTokens":
      return "length";
    case "abort":
      return "cancelled";
    default:
      return "stop";
  }
}

function newToolCallId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return "call_" + Array.from(randomBytes(8), (b) => alphabet[b % alphabet.length]).join("");
}
