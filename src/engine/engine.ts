import { randomBytes, randomInt } from "node:crypto";
import {
  LlamaChat,
  LlamaText,
  TokenMeter,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type Llama,
  type LlamaChatResponseChunk,
  type LlamaGrammar,
  type Token,
} from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import type { Channel } from "./channel.ts";
import { Embeddings } from "./embeddings.ts";
import { streamOnLease, timingsSince } from "./lease-stream.ts";
import { forceToolCall } from "./forced-tool-call.ts";
import { grammarFor } from "./grammar.ts";
import { modelMaxTokens, withModelMessages, withModelParameters } from "./model-defaults.ts";
import { toChatHistory } from "./history.ts";
import { measureLogprobs } from "./logprobs.ts";
import type { LoadedModel } from "./loaded-model.ts";
import type { HoldOptions, ModelPool, SequenceLease } from "./model-pool.ts";
import { draftableTokens, followPrediction, type PredictionCounts } from "./prediction.ts";
import { Ranking } from "./ranking.ts";
import { withPrefix } from "./prefix.ts";
import { reachableStops, refuseLongerThanContext } from "./prompt-bound.ts";
import { choiceSeed, toLlamaSampling } from "./sampling.ts";
import { TextCompletions } from "./text-completion.ts";
import { checkTokenIds } from "./token-ids.ts";
import { Tokens } from "./tokens.ts";
import { ToolParams } from "./tool-params.ts";
import { InvalidRequestError } from "../errors.ts";
import type { EngineEvent, EngineObserver, FinishReason, GenerationRequest, Usage } from "./types.ts";

export interface StartedGeneration {
  /** the model answering: the one asked for, or the instruct model paired with it */
  model: ModelInfo;
  /** the answering model's name for the response: the request's, or the pair's instruct name */
  modelName: string;
  /** the rendered prompt's length, and how much of it the leased sequence already holds (as the done event's usage reports them) */
  promptTokens: number;
  cachedTokens: number;
  events: AsyncIterable<EngineEvent>;
}

export interface EngineOptions {
  /** the reranker retrieval uses when a request names none (--rerank-model) */
  rerankModel?: string;
}

/** A request checked and made ready for a model, before the model is loaded. */
interface Prepared {
  info: ModelInfo;
  request: GenerationRequest;
  history: ChatHistoryItem[];
  functions?: ChatModelFunctions;
  toolParams: ToolParams;
  grammar?: LlamaGrammar;
}

interface Plan {
  history: ChatHistoryItem[];
  wrapper: ReturnType<LoadedModel["chatWrapper"]>;
  functions?: ChatModelFunctions;
  /** Hearth's grammars for the tools' parameters, which LlamaChat's function calling samples them with */
  toolParams: ToolParams;
  grammar?: LlamaGrammar;
  /** the rendered prompt's tokens: the sequence whose cache shares most of them is leased */
  prompt: Token[];
  promptTokens: number;
  maxTokens: number;
  contextSize: number;
}

interface ChoiceOutcome {
  finishReason: FinishReason;
  /** the stop string that ended the choice */
  stopSequence?: string;
  /** counted before logprobs are measured: evaluating the answer again is not generating it */
  completionTokens: number;
  reasoningTokens: number;
  /** the prompt's tokens and the generated ones */
  context: Token[];
  prediction: PredictionCounts;
}

/**
 * The one engine behind every protocol. start() does everything that can fail with a
 * client error (unknown model, bad schema, prompt too long) before any event is produced,
 * so adapters can still answer with a proper status code; then it streams events.
 */
export class Engine {
  /** legacy text completion: raw prompts, no chat template */
  readonly completions: TextCompletions;
  readonly embeddings: Embeddings;
  /** scores documents against a query with a reranker (/v1/rerank, retrieval's reranking) */
  readonly ranking: Ranking;
  /** a model's tokenizer on its own (llama.cpp's /tokenize and /detokenize) */
  readonly tokens: Tokens;

  constructor(
    readonly llama: Llama,
    readonly catalog: ModelCatalog,
    readonly pool: ModelPool,
    private readonly observer?: EngineObserver,
    options: EngineOptions = {},
  ) {
    this.completions = new TextCompletions(catalog, pool, observer);
    this.embeddings = new Embeddings(catalog, pool, observer);
    this.ranking = new Ranking(catalog, pool, observer, options.rerankModel);
    this.tokens = new Tokens(catalog, pool);
  }

  async start(requested: GenerationRequest): Promise<StartedGeneration> {
    const startedAt = process.hrtime.bigint();
    const prepared = await this.prepare(requested);
    const { info, request } = prepared;
    const { lease, plan } = await this.pool.lease(info, { keepAliveMs: request.keepAliveMs, load: request.load, signal: request.signal }, (loaded) =>
      this.plan(loaded, request, prepared),
    );
    // What the sequence already holds of the prompt is not evaluated again; its last token always
    // is, since the logits the first new token is sampled from come from evaluating it.
    const cachedTokens = Math.min(lease.sequence.compareContextTokens(plan.prompt).firstDifferentIndex, plan.promptTokens - 1);
    return { model: info, modelName: request.model, promptTokens: plan.promptTokens, cachedTokens, events: this.run(lease, request, plan, startedAt, cachedTokens) };
  }

  /**
   * The prompt tokens the request would have, rendered exactly as start() renders it (the same
   * checks, chat template, tools and history), without generating or taking a sequence. A prompt
   * longer than the context is counted, not refused.
   */
  async countTokens(requested: GenerationRequest): Promise<{ model: ModelInfo; promptTokens: number }> {
    const prepared = await this.prepare(requested);
    const { info, request } = prepared;
    const hold = await this.pool.hold(info, { keepAliveMs: request.keepAliveMs, load: request.load, signal: request.signal });
    try {
      return { model: info, promptTokens: this.render(hold.loaded, request, prepared).prompt.length };
    } finally {
      hold.release();
    }
  }

  /** Everything about a request that can be checked without its model loaded. */
  private async prepare(requested: GenerationRequest): Promise<Prepared> {
    const { info, asked } = await this.answering(requested);
    const request = { ...withModelParameters(asked, info), maxTokens: modelMaxTokens(asked.maxTokens, info), messages: withModelMessages(asked.messages, info) };
    if (!info.capabilities.includes("completion")) {
      throw new InvalidRequestError(`model "${request.model}" does not support chat or text generation`, "model");
    }
    if (request.responseFormat.type !== "text" && offersTools(request)) {
      throw new InvalidRequestError('response_format and guided_choice cannot be combined with tools; pass tool_choice "none" or drop one of them', "response_format");
    }
    const grammar = await grammarFor(this.llama, request.responseFormat);
    // What needs no model is checked before the model is loaded (which may unload another).
    const history = toChatHistory(request.messages);
    if (history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });
    const toolParams = await ToolParams.compile(this.llama, request.tools);
    const functions = offersTools(request) ? toFunctions(request) : undefined;
    return { info, request, history, functions, grammar, toolParams };
  }

  /**
   * The model that answers, and the request as it goes to it: with thinking switched off, a
   * reasoning model paired with an instruct model (`--instruct-model`) hands the request on to it.
   */
  private async answering(request: GenerationRequest): Promise<{ info: ModelInfo; asked: GenerationRequest }> {
    const info = await this.catalog.get(request.model);
    const instruct = request.reasoning === false ? await this.catalog.instructFor(info) : undefined;
    return instruct ? { info: instruct.info, asked: { ...request, model: instruct.name } } : { info, asked: request };
  }

  /** Loads the model (with these load options) without generating; like a request, it then stays keepAliveMs once idle. */
  async load(info: ModelInfo, options: HoldOptions = {}): Promise<void> {
    (await this.pool.hold(info, options)).release();
  }

  /** Unloads the model now, or as soon as the requests using it are done. */
  unload(info: ModelInfo): Promise<void> {
    return this.pool.unload(info);
  }

  /** The chat wrapper the request is generated with, and its prompt rendered and tokenized. */
  /** `contextSize`: a prompt that cannot fit in it is refused before it is tokenized (a 10 MB one would take many seconds). */
  private render(loaded: LoadedModel, request: GenerationRequest, { history, functions }: Pick<Plan, "history" | "functions">, contextSize?: number): Pick<Plan, "wrapper" | "prompt"> {
    const model = loaded.model;
    let wrapper = loaded.chatWrapper(request.reasoning, request.chatTemplate);
    if (functions && request.toolChoice !== "auto") wrapper = forceToolCall(wrapper);
    if (request.prefix?.length) wrapper = withPrefix(wrapper, LlamaText.fromTokens(model.tokenizer, checkTokenIds(model, request.prefix, "context")));
    const { contextText } = wrapper.generateContextState({ chatHistory: history, availableFunctions: functions });
    if (contextSize !== undefined) refuseLongerThanContext(model, contextText, contextSize, "messages");
    return { wrapper, prompt: contextText.tokenize(model.tokenizer) };
  }

  /** Renders the prompt once to count its tokens: a prompt that does not fit is refused, never truncated. */
  private plan(loaded: LoadedModel, request: GenerationRequest, { history, functions, grammar, toolParams }: Pick<Plan, "history" | "functions" | "grammar" | "toolParams">): Plan {
    const contextSize = Math.min(loaded.contextSize, request.contextLimit ?? Infinity);
    const { wrapper, prompt } = this.render(loaded, request, { history, functions }, contextSize);
    const promptTokens = prompt.length;
    if (promptTokens >= contextSize) {
      throw new InvalidRequestError(
        `This model's maximum context length is ${contextSize} tokens, but the prompt is ${promptTokens} tokens long.`,
        "messages",
        "context_length_exceeded",
      );
    }
    const room = contextSize - promptTokens;
    return { history, wrapper, functions, grammar, toolParams, prompt, promptTokens, maxTokens: Math.min(request.maxTokens ?? room, room), contextSize };
  }

  private run(lease: SequenceLease, request: GenerationRequest, plan: Plan, startedAt: bigint, cachedTokens: number): AsyncIterable<EngineEvent> {
    return streamOnLease<EngineEvent>(lease, request.signal, async (channel, signal) => {
      const timing: { firstTokenAt?: bigint } = {};
      let reasoningTokens = 0;
      let completionTokens = 0;
      let context: Token[] = [];
      const predicted: PredictionCounts = { accepted: 0, rejected: 0 };
      const prediction = draftableTokens(lease.loaded.model, request);
      // Without a seed node-llama-cpp seeds from the clock's second, which would make the n choices
      // (and requests within the same second) identical.
      const baseSeed = request.sampling.seed ?? randomInt(2 ** 31);
      for (let choice = 0; choice < request.n && !signal.aborted; choice++) {
        const outcome = await this.generateChoice(lease, request, plan, choice, channel, signal, timing, baseSeed, prediction);
        reasoningTokens += outcome.reasoningTokens;
        completionTokens += outcome.completionTokens;
        context = outcome.context;
        predicted.accepted += outcome.prediction.accepted;
        predicted.rejected += outcome.prediction.rejected;
        channel.push({ type: "finish", choice, finishReason: outcome.finishReason, ...(outcome.stopSequence !== undefined && { stopSequence: outcome.stopSequence }) });
      }
      const usage: Usage = {
        promptTokens: plan.promptTokens,
        completionTokens,
        reasoningTokens,
        cachedTokens,
        ...(request.prediction !== undefined && { acceptedPredictionTokens: predicted.accepted, rejectedPredictionTokens: predicted.rejected }),
      };
      const timings = timingsSince(startedAt, timing.firstTokenAt, lease.loadNs);
      this.observer?.finished({ model: request.model, signal: request.signal, ...usage, timings });
      channel.push({ type: "done", usage, timings, context });
    });
  }

  private async generateChoice(
    lease: SequenceLease,
    request: GenerationRequest,
    plan: Plan,
    choice: number,
    channel: Channel<EngineEvent>,
    signal: AbortSignal,
    timing: { firstTokenAt?: bigint },
    baseSeed: number,
    prediction: Token[] | undefined,
  ): Promise<ChoiceOutcome> {
    const model = lease.loaded.model;
    const tools = plan.functions && plan.toolParams.enforce(lease.sequence, plan.wrapper, plan.functions);
    const chat = new LlamaChat({ contextSequence: tools?.sequence ?? lease.sequence, chatWrapper: tools?.wrapper ?? plan.wrapper });
    const predicting = followPrediction(lease.sequence, prediction);
    const meterBefore = lease.sequence.tokenMeter.getState();
    const wantLogprobs = request.topLogprobs !== undefined;
    const generated: Token[] = [];
    let generationStart = -1;
    // Content is held back when logprobs are wanted: they are measured once generation ends.
    const content: Array<{ text: string; tokens: Token[] }> = [];
    let reasoningTokens = 0;
    let contentStarted = false;
    let sawReasoning = false;
    let calledTools = false;
    const sampling = toLlamaSampling(model, { ...request.sampling, seed: choiceSeed(baseSeed, choice) }, plan.contextSize);

    try {
      const result = await chat.generateResponse(plan.history, {
        signal,
        stopOnAbortSignal: true,
        maxTokens: plan.maxTokens,
        ...sampling,
        customStopTriggers: reachableStops(model, request.stop, plan.maxTokens),
        budgets: request.reasoning === false ? { thoughtTokens: 0 } : request.reasoningBudget !== undefined ? { thoughtTokens: request.reasoningBudget } : undefined,
        onToken: (tokens: Token[]) => {
          if (generationStart < 0) {
            generationStart = lease.sequence.nextTokenIndex;
            timing.firstTokenAt ??= process.hrtime.bigint();
          }
          generated.push(...tokens);
        },
        onResponseChunk: (chunk: LlamaChatResponseChunk) => {
          if (chunk.type === "segment") {
            if (chunk.segmentType !== "thought") return;
            reasoningTokens += chunk.tokens.length;
            if (chunk.text) {
              sawReasoning = true;
              channel.push({ type: "reasoning", choice, text: chunk.text });
            }
            return;
          }
          let text = chunk.text;
          // Templates separate the answer from the thinking block with blank lines; they are layout, not content.
          if (!contentStarted && sawReasoning) text = text.replace(/^\s+/, "");
          if (!text) return;
          contentStarted = true;
          if (wantLogprobs) content.push({ text, tokens: chunk.tokens });
          else channel.push({ type: "content", choice, text });
        },
        ...(tools
          ? {
              functions: tools.functions,
              maxParallelFunctionCalls: request.parallelToolCalls && request.toolChoice === "auto" ? undefined : 1,
              onFunctionCall: (call: { functionName: string; params: unknown }) => {
                calledTools = true;
                channel.push({ type: "tool_call", choice, call: { id: newToolCallId(), name: call.functionName, arguments: call.params ?? {} } });
              },
            }
          : { grammar: plan.grammar }),
      } as never);

      // With a prediction this includes rejected drafts, which were evaluated as output (OpenAI counts them too).
      const completionTokens = TokenMeter.diff(lease.sequence.tokenMeter.getState(), meterBefore).usedOutputTokens;
      if (wantLogprobs && content.length > 0 && !signal.aborted) {
        const measured = await measureLogprobs(lease.sequence, model, generationStart, generated, request.topLogprobs!);
        emitWithLogprobs(content, generated, measured, choice, channel);
      }
      const prompt = lease.sequence.contextTokens.slice(0, generationStart < 0 ? undefined : generationStart);
      const metadata = (result as { metadata: { stopReason: string; customStopTrigger?: Array<string | Token> } }).metadata;
      return {
        finishReason: finishReason(metadata.stopReason, calledTools),
        stopSequence: !calledTools && metadata.stopReason === "customStopTrigger" ? stopString(metadata.customStopTrigger, request.stop) : undefined,
        completionTokens,
        reasoningTokens,
        context: [...prompt, ...generated],
        prediction: predicting.counts(),
      };
    } finally {
      predicting.stop();
      chat.dispose({ disposeSequence: false });
    }
  }
}

/** Pairs each held-back content chunk with the logprobs of its tokens (found in generation order). */
function emitWithLogprobs(
  content: Array<{ text: string; tokens: Token[] }>,
  generated: Token[],
  measured: Awaited<ReturnType<typeof measureLogprobs>>,
  choice: number,
  channel: Channel<EngineEvent>,
): void {
  let cursor = 0;
  for (const chunk of content) {
    const logprobs = [];
    for (const token of chunk.tokens) {
      const at = generated.indexOf(token, cursor);
      if (at < 0) continue;
      logprobs.push(measured[at]!);
      cursor = at + 1;
    }
    channel.push({ type: "content", choice, text: chunk.text, logprobs });
  }
}

function offersTools(request: GenerationRequest): boolean {
  return request.tools.length > 0 && request.toolChoice !== "none";
}

function toFunctions(request: GenerationRequest): ChatModelFunctions {
  const choice = request.toolChoice;
  const offered = typeof choice === "object" ? request.tools.filter((t) => t.name === choice.name) : request.tools;
  if (offered.length === 0) {
    throw new InvalidRequestError(`tool_choice names the function "${(choice as { name: string }).name}", which is not in tools`, "tool_choice");
  }
  // For any API whose schema lets them through: node-llama-cpp (and the grammar a name is written in) fails on them, a 500.
  const unusable = request.tools.findIndex((tool) => !/^[^\s\x00-\x1f\x7f-\x9f]+$/.test(tool.name));
  if (unusable >= 0) throw new InvalidRequestError(`tools[${unusable}]: a function name must not be empty or hold whitespace or control characters`, "tools");
  return Object.fromEntries(offered.map((tool) => [tool.name, { description: tool.description, params: tool.parameters as never }]));
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

/** The stop string a custom stop trigger came from (node-llama-cpp reports the trigger as text and token parts). */
function stopString(trigger: Array<string | Token> | undefined, stop: string[]): string | undefined {
  if (!trigger) return undefined;
  const text = trigger.filter((part): part is string => typeof part === "string").join("");
  return stop.find((s) => s === text) ?? (text || undefined);
}

function newToolCallId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return "call_" + Array.from(randomBytes(8), (b) => alphabet[b % alphabet.length]).join("");
}
