import type { ChatWrapper, LlamaContext, LlamaContextSequence, LlamaEmbeddingContext, LlamaModel, LlamaRankingContext, Token } from "node-llama-cpp";
import { JinjaTemplateChatWrapper, resolveChatWrapper } from "node-llama-cpp";
import type { ModelInfo } from "../models/catalog.ts";
import { asMemoryError, estimateEmbeddingContext } from "./memory-estimate.ts";
import { withRenderBudget, withTemplateBudget } from "./template-budget.ts";
import { CancelledError, InvalidRequestError, ServerBusyError } from "../errors.ts";

/** What a model was loaded with: the pool's defaults with a request's load options applied. */
export interface EffectiveLoadOptions {
  gpuLayers: number | "auto";
  threads: number;
  /** undefined: node-llama-cpp's default */
  batchSize?: number;
  useMmap: boolean;
}

interface Waiter {
  resolve(sequence: LlamaContextSequence): void;
}

/** The contexts a model gets beside its sequences' one, on first use: each returns pooled outputs instead of logits. */
interface Auxiliaries {
  embedding: LlamaEmbeddingContext;
  ranking: LlamaRankingContext;
}
type Auxiliary = keyof Auxiliaries;

/**
 * A model in memory with one context of N sequences; node-llama-cpp decodes the sequences of a
 * context together in shared batches. Each sequence keeps the tokens of the last request it
 * served, so a request is given the idle sequence whose cache shares the longest prefix with its
 * prompt (the earlier turns of its conversation, a system prompt an agent sends every time) and
 * only the rest of the prompt is evaluated. Requests beyond the idle sequences wait in FIFO order.
 */
export class LoadedModel {
  /** idle sequences in the order they were released: the least recently used first */
  private idle: LlamaContextSequence[];
  /** each sequence's id in the context: node-llama-cpp numbers a new context's sequences in the order they are taken */
  private readonly slots: Map<LlamaContextSequence, number>;
  private waiters: Waiter[] = [];
  private wrappers = new Map<string, ChatWrapper>();
  private auxiliaries: { [K in Auxiliary]?: Promise<Auxiliaries[K]> } = {};
  /** what the embeddings and ranking contexts take, each counted once it exists */
  private auxiliaryUsage: Record<Auxiliary, { ram: number; vram: number }> = { embedding: { ram: 0, vram: 0 }, ranking: { ram: 0, vram: 0 } };

  constructor(
    readonly info: ModelInfo,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    sequences: LlamaContextSequence[],
    private readonly loadOptions: EffectiveLoadOptions,
    private readonly maxQueue: number,
  ) {
    this.idle = [...sequences];
    this.slots = new Map(sequences.map((sequence, slot) => [sequence, slot]));
  }

  /** Tokens a single request may use: node-llama-cpp gives every sequence the full context, never a share. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Requests waiting for a sequence. */
  get queued(): number {
    return this.waiters.length;
  }

  /**
   * node-llama-cpp's accounting of the weights' and the context's memory, with its estimates of the
   * embeddings and ranking contexts once they were created: `auxiliaryBytes`, also part of the total.
   */
  memory(): { totalBytes: number; vramBytes: number; auxiliaryBytes: number } {
    const auxiliary = Object.values(this.auxiliaryUsage);
    const parts = [this.model.memoryUsage, this.context.memoryUsage, ...auxiliary];
    return { totalBytes: bytesOf(parts), vramBytes: parts.reduce((total, usage) => total + usage.vram, 0), auxiliaryBytes: bytesOf(auxiliary) };
  }

  /**
   * The chat wrapper resolved from the GGUF's own template, or built from a Jinja template the
   * request brings. Thinking off uses the template's own switch (Qwen's empty think block,
   * `enable_thinking=false` for generic Jinja templates).
   */
  chatWrapper(reasoning: boolean | undefined, template?: string): ChatWrapper {
    if (template !== undefined) return this.customWrapper(template, reasoning);
    const key = reasoning === false ? "off" : "default";
    let wrapper = this.wrappers.get(key);
    if (!wrapper) {
      // A GGUF's template is a program too (a model may come through /api/create): it gets the same budget.
      const spent = (why: string) => new InvalidRequestError(`model "${this.info.name}" has a chat template that cannot be used: ${why}`, "model");
      const resolved = withTemplateBudget(
        () =>
          resolveChatWrapper(this.model, {
            warningLogs: false,
            customWrapperSettings:
              reasoning === false
                ? { qwen: { thoughts: "discourage" }, jinjaTemplate: { additionalRenderParameters: { enable_thinking: false } } }
                : undefined,
          }),
        spent,
      );
      // Rendering a prompt with it takes as long as the conversation makes it: one too long for the budget is the messages' doing.
      wrapper = withRenderBudget(resolved, (why) => new InvalidRequestError(`The messages are too many to render: ${why}.`, "messages"));
      this.wrappers.set(key, wrapper);
    }
    return wrapper;
  }

  /**
   * Not cached: a request's template is its own, and building the wrapper is cheap next to generating.
   * Building it renders the template a few dozen times, and every prompt renders it again: all
   * under a time budget, since the template is the client's program run on the event loop.
   */
  private customWrapper(template: string, reasoning: boolean | undefined): ChatWrapper {
    const spent = (why: string) => new InvalidRequestError(`template cannot be used as a Jinja chat template: ${why}`, "template");
    let wrapper: ChatWrapper;
    try {
      wrapper = withTemplateBudget(() => new JinjaTemplateChatWrapper({ template, tokenizer: this.model.tokenizer, reasoning: reasoning ?? null }), spent);
    } catch (err) {
      if (err instanceof InvalidRequestError) throw err;
      throw new InvalidRequestError(`template cannot be used as a Jinja chat template: ${(err as Error).message}`, "template");
    }
    return withRenderBudget(wrapper, spent);
  }

  /**
   * The embeddings context, created on the first embedding request: llama.cpp decides when a context
   * is created whether it returns hidden states or logits, so embeddings cannot share the sequences.
   */
  embeddingContext(): Promise<LlamaEmbeddingContext> {
    return this.auxiliary("embedding", (options) => this.model.createEmbeddingContext(options));
  }

  /**
   * The ranking context, created on the first rerank request: an embeddings context whose pooling is
   * llama.cpp's rank pooling (the classification head's scores), which the embeddings context of the
   * same model must not have.
   */
  rankingContext(): Promise<LlamaRankingContext> {
    return this.auxiliary("ranking", (options) => this.model.createRankingContext(options));
  }

  /**
   * Its batch spans the whole context because pooled outputs (mean, CLS, last token, rank) need every
   * token in one pass. Once created, its memory counts in the model's size: in the pool's budget and
   * in /api/ps. A failed creation is forgotten, so the next request tries again.
   */
  private auxiliary<K extends Auxiliary>(kind: K, create: (options: { contextSize: number; batchSize: number; threads: number }) => Promise<Auxiliaries[K]>): Promise<Auxiliaries[K]> {
    const auxiliaries: { [P in K]?: Promise<Auxiliaries[P]> } = this.auxiliaries;
    const existing = auxiliaries[kind];
    if (existing) return existing;
    const estimate = estimateEmbeddingContext(this.model, this.contextSize);
    estimate.catch(() => undefined);
    const creating = create({ contextSize: this.contextSize, batchSize: this.contextSize, threads: this.loadOptions.threads })
      .catch(asMemoryError(this.info))
      .then(async (context) => {
        try {
          this.auxiliaryUsage[kind] = await estimate;
        } catch (err) {
          await context.dispose();
          throw err;
        }
        return context;
      });
    creating.catch(() => {
      if (auxiliaries[kind] === creating) delete auxiliaries[kind];
    });
    auxiliaries[kind] = creating;
    return creating;
  }

  /** The idle sequence sharing the longest prefix with `prompt`, or a place in the queue for the next one freed. */
  acquire(prompt: readonly Token[], signal?: AbortSignal): Promise<LlamaContextSequence> {
    if (this.idle.length > 0) return Promise.resolve(this.takeIdle(prompt));
    if (signal?.aborted) return Promise.reject(new CancelledError());
    if (this.waiters.length >= this.maxQueue) return Promise.reject(new ServerBusyError());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new CancelledError());
      };
      const waiter: Waiter = {
        resolve: (sequence) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(sequence);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  release(sequence: LlamaContextSequence): void {
    const next = this.waiters.shift();
    if (next) next.resolve(sequence);
    else this.idle.push(sequence);
  }

  /**
   * The idle sequence with the longest shared prefix, when taking it is worth it: it saves at least
   * half of the prompt's evaluation, or keeps at least as much of its cache as it throws away.
   * Otherwise an empty sequence, or else one of the least recently used, so that a common opening
   * (a template's first tokens) does not make one conversation overwrite another's cache.
   */
  private takeIdle(prompt: readonly Token[]): LlamaContextSequence {
    let pick = -1;
    let pickShared = 0;
    for (let i = 0; i < this.idle.length; i++) {
      const cached = this.idle[i]!.contextTokens;
      const shared = sharedPrefixLength(cached, prompt);
      const worthIt = shared > 0 && (shared * 2 >= prompt.length || shared >= cached.length - shared);
      if (worthIt && shared > pickShared) {
        pick = i;
        pickShared = shared;
      }
    }
    if (pick < 0) pick = this.besideBusy();
    return this.idle.splice(pick, 1)[0]!;
  }

  /**
   * Among the empty idle sequences (all idle ones, least recently used first, when none is empty),
   * the one with the most busy neighbours. llama.cpp decodes only a run of consecutive sequence ids
   * in one pass over the weights, so streams that sit side by side batch together and streams with
   * gaps between them cost a pass each.
   */
  private besideBusy(): number {
    const idleSlots = new Set(this.idle.map((sequence) => this.slots.get(sequence)));
    const busy = (slot: number) => this.slots.size > slot && slot >= 0 && !idleSlots.has(slot);
    const empty = this.idle.flatMap((sequence, i) => (sequence.contextTokens.length === 0 ? [i] : []));
    const candidates = empty.length > 0 ? empty : this.idle.map((_, i) => i);
    let pick = candidates[0]!;
    let pickNeighbours = -1;
    for (const i of candidates) {
      const slot = this.slots.get(this.idle[i]!)!;
      const neighbours = Number(busy(slot - 1)) + Number(busy(slot + 1));
      if (neighbours > pickNeighbours) {
        pick = i;
        pickNeighbours = neighbours;
      }
    }
    return pick;
  }

  async dispose(): Promise<void> {
    for (const auxiliary of Object.values(this.auxiliaries)) await (await auxiliary?.catch(() => undefined))?.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}

function bytesOf(usages: Array<{ ram: number; vram: number }>): number {
  return usages.reduce((total, usage) => total + usage.ram + usage.vram, 0);
}

function sharedPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
