import { randomInt } from "node:crypto";
import { LlamaCompletion, LlamaVocabularyType, TokenMeter, type LlamaCompletionGenerationOptions, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import type { ModelCatalog, ModelInfo } from "../models/catalog.ts";
import type { Channel } from "./channel.ts";
import { streamOnLease, timingsSince } from "./lease-stream.ts";
import { grammarFor } from "./grammar.ts";
import { measureLogprobs } from "./logprobs.ts";
import type { LoadedModel } from "./loaded-model.ts";
import type { ModelPool, SequenceLease } from "./model-pool.ts";
import { withModelParameters } from "./model-defaults.ts";
import { reachableStops, refuseLongerThanContext } from "./prompt-bound.ts";
import { choiceSeed, toLlamaSampling } from "./sampling.ts";
import { checkTokenIds } from "./token-ids.ts";
import { InvalidRequestError } from "../errors.ts";
import type { EngineEvent, EngineObserver, FinishReason, LoadOptions, ResponseFormat, SamplingOptions, TokenLogprob } from "./types.ts";

/** A raw prompt: text (special tokens such as `<|im_start|>` are parsed) or token ids of the model's vocabulary. */
export type TextPrompt = string | number[];

export interface TextCompletionRequest {
  model: string;
  prompts: TextPrompt[];
  /** fill-in-the-middle: the text the completion must lead into (models with the "insert" capability) */
  suffix?: string;
  /** completions per prompt; choice index = prompt index × n + i */
  n: number;
  /** each choice's text starts with its prompt (with the prompt's logprobs when those are asked for) */
  echo: boolean;
  /** 0 generates nothing: with echo and logprobs that scores the prompt alone; Infinity: until the context is full */
  maxTokens: number;
  /** tokens each prompt and its completion may use together, below the loaded context size */
  contextLimit?: number;
  stop: string[];
  sampling: SamplingOptions;
  /** undefined: free text */
  responseFormat?: ResponseFormat;
  /** undefined: no logprobs; a number: logprobs with that many alternatives per token */
  topLogprobs?: number;
  /** token ids placed before each prompt: an earlier answer's context, to continue from it */
  prefix?: number[];
  /** how long the model stays loaded once idle: undefined = the pool's default, Infinity = forever, 0 = unload after this request */
  keepAliveMs?: number;
  /** how the model is loaded: undefined fields = the server's defaults */
  load?: LoadOptions;
  signal?: AbortSignal;
}

/** An echoed prompt's first token, when nothing precedes it, has no probability (OpenAI's legacy logprobs say null). */
export interface UnscoredToken {
  token: string;
  logprob: null;
  bytes: number[];
  top: null;
}

export type TextCompletionEvent =
  | Exclude<EngineEvent, { type: "content" }>
  | { type: "content"; choice: number; text: string; logprobs?: Array<TokenLogprob | UnscoredToken> };

export interface StartedTextCompletion {
  model: ModelInfo;
  /** each prompt as text (token prompts detokenized), in request order */
  promptTexts: string[];
  events: AsyncIterable<TextCompletionEvent>;
}

interface PromptPlan {
  text: string;
  /** the prompt's tokens (the prefix, for fill-in-the-middle) */
  tokens: Token[];
  suffix?: Token[];
  /** everything the sequence holds before the first generated token */
  input: Token[];
  /** where tokens[0] sits in input */
  at: number;
  maxTokens: number;
}

interface RunStats {
  completionTokens: number;
  firstTokenAt?: bigint;
  /** the last choice's input and generated tokens */
  context: Token[];
}

type Sampling = ReturnType<typeof toLlamaSampling> & { grammar?: LlamaGrammar };

/**
 * Legacy text completion: the raw prompt, no chat template. Like Engine.start, start() does all
 * that can fail with a client error (unknown model, bad token ids, prompt too long) before the
 * first event; the choices are then generated one after another on one leased sequence, so the
 * prompt is evaluated once and its cache serves every choice.
 */
export class TextCompletions {
  constructor(
    readonly catalog: ModelCatalog,
    readonly pool: ModelPool,
    private readonly observer?: EngineObserver,
  ) {}

  async start(asked: TextCompletionRequest): Promise<StartedTextCompletion> {
    const startedAt = process.hrtime.bigint();
    const info = await this.catalog.get(asked.model);
    const request = withModelParameters(asked, info);
    if (!info.capabilities.includes("completion")) {
      throw new InvalidRequestError(`model "${request.model}" does not support text generation`, "model");
    }
    if (request.suffix !== undefined && !info.capabilities.includes("insert")) {
      throw new InvalidRequestError(`model "${request.model}" has no fill-in-the-middle tokens (capability "insert"), so suffix cannot be used`, "suffix");
    }
    const grammar = await grammarFor(this.pool.llama, request.responseFormat ?? { type: "text" });
    const { lease, plan: prepared } = await this.pool.lease(info, { keepAliveMs: request.keepAliveMs, load: request.load, signal: request.signal }, (loaded) => {
      const model = loaded.model;
      const sampling = { ...toLlamaSampling(model, request.sampling, contextLimit(loaded, request)), grammar };
      if (request.suffix !== undefined) refuseLongerThanContext(model, request.suffix, contextLimit(loaded, request), "suffix", true);
      const suffix = request.suffix === undefined ? undefined : model.tokenize(request.suffix, true);
      const plans = request.prompts.map((prompt, i) => plan(loaded, request, prompt, suffix, request.prompts.length > 1 ? `prompt[${i}]` : "prompt"));
      return { plans, sampling, prompt: plans[0]!.input };
    });
    return { model: info, promptTexts: prepared.plans.map((p) => p.text), events: this.run(lease, request, prepared.plans, prepared.sampling, startedAt) };
  }

  private run(lease: SequenceLease, request: TextCompletionRequest, plans: PromptPlan[], sampling: Sampling, startedAt: bigint): AsyncIterable<TextCompletionEvent> {
    return streamOnLease<TextCompletionEvent>(lease, request.signal, async (channel, signal) => {
      // Without a seed node-llama-cpp seeds from the clock's second: n choices would all be identical.
      const baseSeed = request.sampling.seed ?? randomInt(2 ** 31);
      const stats: RunStats = { completionTokens: 0, context: [] };
      // Measured before generation: the first choice of each prompt reuses what the sequence already holds.
      let cachedTokens = 0;
      for (let choice = 0; choice < plans.length * request.n && !signal.aborted; choice++) {
        const promptPlan = plans[Math.floor(choice / request.n)]!;
        if (choice % request.n === 0) {
          cachedTokens += Math.min(lease.sequence.compareContextTokens(promptPlan.input).firstDifferentIndex, promptPlan.input.length - 1);
        }
        const choiceSampling = { ...sampling, seed: choiceSeed(baseSeed, choice) };
        const finishReason = await generateChoice(lease, request, promptPlan, choice, choiceSampling, channel, signal, stats);
        channel.push({ type: "finish", choice, finishReason });
      }
      const usage = { promptTokens: plans.reduce((sum, p) => sum + p.input.length, 0), completionTokens: stats.completionTokens, reasoningTokens: 0, cachedTokens };
      const timings = timingsSince(startedAt, stats.firstTokenAt, lease.loadNs);
      this.observer?.finished({ model: request.model, signal: request.signal, ...usage, timings });
      channel.push({ type: "done", usage, timings, context: stats.context });
    });
  }
}

/** Tokenizes one prompt and lays out what the sequence will hold; a prompt that does not fit is refused, never truncated. */
function plan(loaded: LoadedModel, request: TextCompletionRequest, prompt: TextPrompt, suffix: Token[] | undefined, param: string): PromptPlan {
  const model = loaded.model;
  const contextSize = contextLimit(loaded, request);
  if (typeof prompt === "string") refuseLongerThanContext(model, prompt, contextSize, param, true);
  const own = typeof prompt === "string" ? model.tokenize(prompt, true) : checkTokenIds(model, prompt, param);
  const tokens = [...prefixOf(model, request), ...own];
  const text = typeof prompt === "string" && tokens.length === own.length ? prompt : model.detokenize(tokens, true);
  const layout = suffix === undefined ? plainLayout(model, tokens, param) : infillLayout(model, tokens, suffix);
  if (layout.input.length >= contextSize) {
    throw new InvalidRequestError(
      `This model's maximum context length is ${contextSize} tokens, but ${param} is ${layout.input.length} tokens long.`,
      param,
      "context_length_exceeded",
    );
  }
  return { text, tokens, suffix, ...layout, maxTokens: Math.min(request.maxTokens, contextSize - layout.input.length) };
}

function contextLimit(loaded: LoadedModel, request: TextCompletionRequest): number {
  return Math.min(loaded.contextSize, request.contextLimit ?? Infinity);
}

/** An earlier answer's tokens already start with the beginning token the layout adds, so theirs is dropped. */
function prefixOf(model: LlamaModel, request: TextCompletionRequest): Token[] {
  if (!request.prefix?.length) return [];
  const prefix = checkTokenIds(model, request.prefix, "context");
  return prefix[0] === beginningToken(model) ? prefix.slice(1) : prefix;
}

/** node-llama-cpp's rule (tokenizerUtils, not exported) for the token LlamaCompletion puts before the input. */
function beginningToken(model: LlamaModel): Token | null {
  switch (model.vocabularyType) {
    case LlamaVocabularyType.rwkv:
    case LlamaVocabularyType.ugm:
      return null;
    case LlamaVocabularyType.wpm:
      return model.tokens.bos;
    default:
      return model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
  }
}

function plainLayout(model: LlamaModel, tokens: Token[], param: string): Pick<PromptPlan, "input" | "at"> {
  const head = beginningToken(model);
  if (head !== null) return { input: [head, ...tokens], at: 1 };
  if (tokens.length > 0) return { input: tokens, at: 0 };
  // An empty prompt starts a new document, as OpenAI's default prompt <|endoftext|> does.
  const documentStart = model.tokens.bos ?? model.tokens.eos;
  if (documentStart === null) throw new InvalidRequestError(`${param} is empty and this model has no token that starts a document`, param);
  return { input: [documentStart], at: 1 };
}

/** The layout LlamaCompletion.generateInfillCompletion builds: prefix-suffix-middle, or suffix-prefix without a middle token. */
function infillLayout(model: LlamaModel, prefix: Token[], suffix: Token[]): Pick<PromptPlan, "input" | "at"> {
  const { prefix: pre, suffix: suf, middle: mid } = model.tokens.infill;
  if (pre === null || suf === null) throw new InvalidRequestError("this model has no fill-in-the-middle tokens, so suffix cannot be used", "suffix");
  const head = beginningToken(model);
  const start = head === null ? [] : [head];
  if (mid !== null) return { input: [...start, pre, ...prefix, suf, ...suffix, mid], at: start.length + 1 };
  return { input: [...start, suf, ...suffix, pre, ...prefix], at: start.length + suffix.length + 2 };
}

async function generateChoice(
  lease: SequenceLease,
  request: TextCompletionRequest,
  promptPlan: PromptPlan,
  choice: number,
  sampling: Sampling,
  channel: Channel<TextCompletionEvent>,
  signal: AbortSignal,
  stats: RunStats,
): Promise<FinishReason> {
  const sequence = lease.sequence;
  const wantLogprobs = request.topLogprobs !== undefined;
  // With logprobs, text waits for them: they are measured once the choice is complete.
  const chunks: Array<{ text: string; tokens: Token[] }> = [];
  const generated: Token[] = [];
  let chunkStart = 0;
  if (request.echo && !wantLogprobs) channel.push({ type: "content", choice, text: promptPlan.text });

  let stopReason = "maxTokens";
  if (promptPlan.maxTokens > 0) {
    const meterBefore = sequence.tokenMeter.getState();
    const options: LlamaCompletionGenerationOptions = {
      ...sampling,
      // Unless told how far back to look, penalties count every token generated so far (OpenAI's), newlines included.
      repeatPenalty: sampling.repeatPenalty && { ...sampling.repeatPenalty, lastTokens: sampling.repeatPenalty.lastTokens ?? promptPlan.maxTokens, penalizeNewLine: true },
      signal,
      stopOnAbortSignal: true,
      maxTokens: promptPlan.maxTokens,
      customStopTriggers: reachableStops(lease.loaded.model, request.stop, promptPlan.maxTokens),
      // The prompt was checked to fit: node-llama-cpp would otherwise drop its start to keep 10% of the context free.
      contextShiftSize: 0,
      disableContextShift: true,
      onToken: (tokens) => {
        stats.firstTokenAt ??= process.hrtime.bigint();
        generated.push(...tokens);
      },
      // node-llama-cpp reports each text chunk right after the tokens it decodes.
      onTextChunk: (text) => {
        const tokens = generated.slice(chunkStart);
        chunkStart = generated.length;
        if (wantLogprobs) chunks.push({ text, tokens });
        else if (text) channel.push({ type: "content", choice, text });
      },
    };
    const completion = new LlamaCompletion({ contextSequence: sequence });
    try {
      // Both calls put the beginning token in front of the input themselves.
      const result = promptPlan.suffix !== undefined
        ? await completion.generateInfillCompletionWithMeta(promptPlan.tokens, promptPlan.suffix, options)
        : await completion.generateCompletionWithMeta(beginningToken(lease.loaded.model) === null ? promptPlan.input : promptPlan.input.slice(1), options);
      stopReason = result.metadata.stopReason;
      stats.context = [...promptPlan.input, ...generated];
    } finally {
      completion.dispose({ disposeSequence: false });
    }
    stats.completionTokens += TokenMeter.diff(sequence.tokenMeter.getState(), meterBefore).usedOutputTokens;
  }

  if (wantLogprobs && !signal.aborted) await emitWithLogprobs(lease, request, promptPlan, choice, chunks, generated, channel);
  return stopReason === "maxTokens" ? "length" : stopReason === "abort" ? "cancelled" : "stop";
}

/**
 * Scores the echoed prompt (when asked) and the completion in one pass from the first prompt token
 * that has something before it, then sends the held-back text with each token's logprobs.
 */
async function emitWithLogprobs(
  lease: SequenceLease,
  request: TextCompletionRequest,
  promptPlan: PromptPlan,
  choice: number,
  chunks: Array<{ text: string; tokens: Token[] }>,
  generated: Token[],
  channel: Channel<TextCompletionEvent>,
): Promise<void> {
  const { sequence, loaded } = lease;
  const { input, at, tokens } = promptPlan;
  const from = request.echo ? Math.max(at, 1) : input.length;
  // With max_tokens 0 nothing was generated, so the tokens before `from` may not be in the sequence yet.
  await sequence.adaptStateToTokens(input.slice(0, from), false);
  const missing = input.slice(sequence.nextTokenIndex, from);
  if (missing.length > 0) await sequence.evaluateWithoutGeneratingNewTokens(missing);
  const measured = await measureLogprobs(sequence, loaded.model, from, [...input.slice(from), ...generated], request.topLogprobs!);

  if (request.echo) {
    const unscored: UnscoredToken[] = at < from ? [unscoredToken(loaded.model, tokens[0]!)] : [];
    const scored = measured.slice(Math.max(at, from) - from, at + tokens.length - from);
    channel.push({ type: "content", choice, text: promptPlan.text, logprobs: [...unscored, ...scored] });
  }
  let cursor = input.length - from;
  for (const chunk of chunks) {
    const logprobs = measured.slice(cursor, cursor + chunk.tokens.length);
    cursor += chunk.tokens.length;
    if (chunk.text || logprobs.length > 0) channel.push({ type: "content", choice, text: chunk.text, logprobs });
  }
}

function unscoredToken(model: LlamaModel, token: Token): UnscoredToken {
  const text = model.detokenize([token], true);
  return { token: text, logprob: null, bytes: [...Buffer.from(text, "utf8")], top: null };
}
