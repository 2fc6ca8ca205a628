import { TokenPredictor, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { DraftPayoff, type DraftingMode } from "./draft-payoff.ts";
import { guardDraftDraws } from "./prediction-draws.ts";
import type { GenerationRequest } from "./types.ts";

/** Generated tokens compared with the prediction when finding where the answer is in it again; longer tails add little. */
const MAX_KEY = 32;
/**
 * A single token of the answer found in the prediction is mostly a common word or a newline, a
 * poor guess of where the answer is; two in a row rarely mislead.
 */
const MIN_KEY = 2;

/**
 * Drafts the next token of an answer from the request's prediction (OpenAI's predicted outputs),
 * for node-llama-cpp to verify while it decodes the token before it. It follows the answer through
 * the prediction: while the answer repeats it, the next prediction token is the draft; where they
 * part (an edit), it finds the answer's latest tokens in the prediction again and drafts from
 * there. The answer is what the model samples either way; a draft makes its decode step evaluate
 * two tokens, which pays where such a step costs about what a step of one does (GPUs, CPUs whose
 * decoding waits on memory; `npm run bench:prediction` measures it): in `auto` mode the drafter
 * times its steps both ways and drafts only if that is faster (DraftPayoff).
 *
 * node-llama-cpp takes predictors only when a sequence is created, and the pool's sequences serve
 * request after request, so each sequence has one drafter that a request tells its prediction
 * (follow) and that drafts nothing without one.
 *
 * It drafts one token at a time: node-llama-cpp (3.22) validates only the first drafted token of
 * each decode step and refutes the rest unseen, so longer drafts would cost evaluations and gain
 * nothing.
 */
export class PredictionDrafter extends TokenPredictor {
  private prediction: readonly Token[] = [];
  /** the answer's tokens so far (the last MAX_KEY of them) */
  private generated: Token[] = [];
  /** how many state tokens preceded the answer: the prompt, as the first reset after follow() saw it */
  private origin?: number;
  /** where in the prediction the answer is: the index of the prediction token expected next */
  private cursor?: number;
  /** the cursor's last value, kept while the answer is off the prediction */
  private lastCursor = 0;
  /** the token just drafted, until the decode that verifies it takes it */
  private pending?: Token;
  private readonly payoff: DraftPayoff;
  /** when the decode step under way began (undefined: not timed) */
  private stepStartedAt?: number;
  /** answer tokens the step under way produced so far */
  private stepTokens = 0;
  private stepDrafted = false;
  /** the next step is an evaluation's first, which also evaluates the prompt: not timed */
  private promptStep = true;

  constructor(mode: DraftingMode) {
    super();
    this.payoff = new DraftPayoff(mode);
  }

  /** Drafts from `prediction` for the generation about to start; undefined stops drafting. */
  follow(prediction: readonly Token[] | undefined): void {
    this.prediction = prediction ?? [];
    this.generated = [];
    this.origin = undefined;
    this.cursor = undefined;
    this.lastCursor = 0;
    this.pending = undefined;
    this.stepStartedAt = undefined;
    this.promptStep = true;
  }

  /** Called when an evaluation starts (node-llama-cpp restarts one after a replacement or an erase): with the prompt, and any answer so far. */
  reset({ stateTokens }: { stateTokens: Token[] }): void {
    if (this.prediction.length === 0) return;
    this.stepStartedAt = undefined;
    this.promptStep = true;
    this.origin ??= stateTokens.length;
    this.generated = stateTokens.slice(Math.max(this.origin, stateTokens.length - MAX_KEY));
    // An answer usually starts where its prediction does.
    this.moveTo(stateTokens.length <= this.origin ? 0 : this.find());
  }

  pushTokens(tokens: Token[]): void {
    if (this.prediction.length === 0) return;
    this.stepTokens += tokens.length;
    for (const token of tokens) {
      this.generated.push(token);
      if (this.generated.length > MAX_KEY) this.generated.shift();
      this.moveTo(this.cursor !== undefined && this.prediction[this.cursor] === token ? this.cursor + 1 : this.find());
    }
  }

  predictTokens(): Token[] {
    if (this.prediction.length === 0) return [];
    // node-llama-cpp asks for a draft as each decode step begins, so the time since the last ask is the last step's
    const now = performance.now();
    if (this.stepStartedAt !== undefined) this.payoff.record(this.stepDrafted, this.stepTokens, now - this.stepStartedAt);
    this.stepStartedAt = this.promptStep ? undefined : now;
    this.promptStep = false;
    this.stepTokens = 0;
    const next = this.cursor === undefined ? undefined : this.prediction[this.cursor];
    this.pending = next !== undefined && this.payoff.wantsDraft() ? next : undefined;
    this.stepDrafted = this.pending !== undefined;
    return this.pending === undefined ? [] : [this.pending];
  }

  /** The token drafted for the decode now starting, once. */
  takeDraft(): Token | undefined {
    const draft = this.pending;
    this.pending = undefined;
    return draft;
  }

  private moveTo(cursor: number | undefined): void {
    this.cursor = cursor;
    if (cursor !== undefined) this.lastCursor = cursor;
  }

  /**
   * The prediction position after the longest tail of the answer (MIN_KEY tokens at least) that
   * the prediction holds; among equally long ones, the first at or after where the answer was, so
   * that a repeated passage is followed in order.
   */
  private find(): number | undefined {
    const start = Math.max(this.lastCursor, 1);
    let best: number | undefined;
    let bestLength = MIN_KEY - 1;
    for (let i = 0; i < this.prediction.length; i++) {
      const end = ((start - 1 + i) % this.prediction.length) + 1;
      const length = this.matchEndingAt(end);
      if (length > bestLength) {
        best = end;
        bestLength = length;
      }
    }
    return best;
  }

  /** How many of the answer's last tokens the prediction holds just before `end`. */
  private matchEndingAt(end: number): number {
    let length = 0;
    while (length < end && length < this.generated.length && this.prediction[end - 1 - length] === this.generated[this.generated.length - 1 - length]) length++;
    return length;
  }
}

/** A pooled sequence with its drafter; drafted tokens only consume sampling draws when they are verified (see guardDraftDraws). */
export function predictingSequence(context: LlamaContext, mode: DraftingMode): LlamaContextSequence {
  const drafter = new PredictionDrafter(mode);
  const sequence = context.getSequence({ tokenPredictor: drafter });
  guardDraftDraws(sequence, () => drafter.takeDraft());
  return sequence;
}

/**
 * The prediction's tokens when drafting from them leaves the answer as it would be without them.
 * Not with repetition penalties: node-llama-cpp samples at a drafted position with the penalty
 * history of the step before, which lacks the token just sampled.
 */
export function draftableTokens(model: LlamaModel, request: GenerationRequest): Token[] | undefined {
  if (!request.prediction) return undefined;
  const { repeatPenalty, presencePenalty, frequencyPenalty } = request.sampling;
  if ((repeatPenalty ?? 1) !== 1 || (presencePenalty ?? 0) !== 0 || (frequencyPenalty ?? 0) !== 0) return undefined;
  return model.tokenize(request.prediction);
}

/** What drafting from a prediction achieved in one generation, by node-llama-cpp's own counts. */
export interface PredictionCounts {
  /** drafted tokens the model confirmed: they are in the answer */
  accepted: number;
  /** drafted tokens the model sampled otherwise */
  rejected: number;
}

/** Lets the sequence's drafter follow `prediction` until stop(); counts() says what it achieved meanwhile. */
export function followPrediction(sequence: LlamaContextSequence, prediction: readonly Token[] | undefined): { counts(): PredictionCounts; stop(): void } {
  const drafter = sequence.tokenPredictor instanceof PredictionDrafter ? sequence.tokenPredictor : undefined;
  const before = sequence.tokenPredictions;
  drafter?.follow(prediction);
  return {
    counts() {
      const now = sequence.tokenPredictions;
      return { accepted: now.validated - before.validated, rejected: now.refuted - before.refuted };
    },
    stop: () => drafter?.follow(undefined),
  };
}
