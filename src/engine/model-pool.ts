import type { ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { resolveChatWrapper } from "node-llama-cpp";
import type { ModelInfo } from "../models/catalog.ts";
import { CancelledError, ServerBusyError } from "./types.ts";

export interface PoolOptions {
  contextSize: number;
  parallel: number;
  threads: number;
  /** requests allowed to wait for a sequence; more are refused with ServerBusyError */
  maxQueue: number;
}

/** A sequence borrowed from a loaded model for one request; release() returns it. */
export interface SequenceLease {
  loaded: LoadedModel;
  sequence: LlamaContextSequence;
  /** nanoseconds spent loading the model for this request (0 when it was already loaded) */
  loadNs: number;
  release(): void;
}

export class LoadedModel {
  private free: LlamaContextSequence[];
  private waiters: Array<(s: LlamaContextSequence) => void> = [];
  private wrappers = new Map<string, ChatWrapper>();
  private embedding?: Promise<LlamaEmbeddingContext>;

  constructor(
    readonly info: ModelInfo,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    sequences: LlamaContextSequence[],
    private readonly threads: number,
    private readonly maxQueue: number,
  ) {
    this.free = sequences;
  }

  /** Tokens a single request may use: each sequence owns the full context, never a share. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /**
   * The chat wrapper resolved from the GGUF's own template. Thinking off uses the template's
   * own switch (Qwen's empty think block, `enable_thinking=false` for generic Jinja templates).
   */
  chatWrapper(reasoning: boolean | undefined): ChatWrapper {
    const key = reasoning === false ? "off" : "default";
    let wrapper = this.wrappers.get(key);
    if (!wrapper) {
      wrapper = resolveChatWrapper(this.model, {
        warningLogs: false,
        customWrapperSettings:
          reasoning === false
            ? { qwen: { thoughts: "discourage" }, jinjaTemplate: { additionalRenderParameters: { enable_thinking: false } } }
            : undefined,
      });
      this.wrappers.set(key, wrapper);
    }
    return wrapper;
  }

  /**
   * The embeddings context, created on the first embedding request: llama.cpp decides when a context
   * is created whether it returns hidden states or logits, so embeddings cannot share the sequences.
   * Its batch spans the whole context because pooled (mean, CLS) embeddings need every token in one pass.
   */
  embeddingContext(): Promise<LlamaEmbeddingContext> {
    if (!this.embedding) {
      const creating = this.model.createEmbeddingContext({ contextSize: this.contextSize, batchSize: this.contextSize, threads: this.threads });
      creating.catch(() => {
        if (this.embedding === creating) this.embedding = undefined;
      });
      this.embedding = creating;
    }
    return this.embedding;
  }

  acquire(signal?: AbortSignal): Promise<LlamaContextSequence> {
    const seq = this.free.pop();
    if (seq) return Promise.resolve(seq);
    if (this.waiters.length >= this.maxQueue) return Promise.reject(new ServerBusyError());
    return new Promise((resolve, reject) => {
      const waiter = (s: LlamaContextSequence) => resolve(s);
      this.waiters.push(waiter);
      signal?.addEventListener("abort", () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(new CancelledError());
        }
      }, { once: true });
    });
  }

  release(seq: LlamaContextSequence): void {
    const next = this.waiters.shift();
    if (next) next(seq);
    else this.free.push(seq);
  }

  async dispose(): Promise<void> {
    await (await this.embedding?.catch(() => undefined))?.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** Loads models on first use; concurrent requests for a model that is loading share one load. */
export class ModelPool {
  private loads = new Map<string, Promise<LoadedModel>>();

  constructor(private llama: Llama, private options: PoolOptions) {}

  async lease(info: ModelInfo, signal?: AbortSignal): Promise<SequenceLease> {
    const started = process.hrtime.bigint();
    const loadedHere = !this.loads.has(info.path);
    const loaded = await this.model(info);
    const loadNs = loadedHere ? Number(process.hrtime.bigint() - started) : 0;
    const sequence = await loaded.acquire(signal);
    return { loaded, sequence, loadNs, release: () => loaded.release(sequence) };
  }

  /** The loaded model without taking a sequence (embeddings have their own context). */
  model(info: ModelInfo): Promise<LoadedModel> {
    let load = this.loads.get(info.path);
    if (!load) {
      load = this.load(info);
      this.loads.set(info.path, load);
      load.catch(() => this.loads.delete(info.path));
    }
    return load;
  }

  loadedModels(): Promise<LoadedModel[]> {
    return Promise.all([...this.loads.values()].map((p) => p.catch(() => undefined))).then((all) => all.filter((m): m is LoadedModel => m !== undefined));
  }

  private async load(info: ModelInfo): Promise<LoadedModel> {
    const model = await this.llama.loadModel({ modelPath: info.path });
    try {
      const contextSize = Math.min(this.options.contextSize, model.trainContextSize);
      const context = await model.createContext({
        contextSize,
        sequences: this.options.parallel,
        threads: this.options.threads,
      });
      const sequences = Array.from({ length: this.options.parallel }, () => context.getSequence());
      return new LoadedModel(info, model, context, sequences, this.options.threads, this.options.maxQueue);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  async dispose(): Promise<void> {
    for (const m of await this.loadedModels()) await m.dispose();
    this.loads.clear();
  }
}
