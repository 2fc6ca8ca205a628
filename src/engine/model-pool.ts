import type { ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { JinjaTemplateChatWrapper, resolveChatWrapper } from "node-llama-cpp";
import type { ModelInfo } from "../models/catalog.ts";
import { CancelledError, InvalidRequestError, ServerBusyError, type LoadOptions } from "./types.ts";

/** Ollama's default: a model nobody has used for five minutes is unloaded. */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;
/** setTimeout fires at once for delays beyond 2^31 - 1 ms, so longer keep-alives are waited out in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PoolOptions {
  contextSize: number;
  parallel: number;
  threads: number;
  /** requests allowed to wait for a sequence; more are refused with ServerBusyError */
  maxQueue: number;
  /** how long an idle model stays loaded when a request does not say; default DEFAULT_KEEP_ALIVE_MS */
  keepAliveMs?: number;
}

/** What a request asks of the model it holds. */
export interface HoldOptions {
  /** how long the model stays loaded once idle; undefined means the pool's default */
  keepAliveMs?: number;
  /** how the model must be loaded; undefined fields mean the pool's defaults */
  load?: LoadOptions;
}

/** Load options with the pool's defaults filled in: what a loaded model was loaded with. */
interface EffectiveLoadOptions {
  gpuLayers: number | "auto";
  threads: number;
  /** undefined: node-llama-cpp's default */
  batchSize?: number;
  useMmap: boolean;
}

/** A loaded model held for one request: it is not unloaded before release(). */
export interface ModelHold {
  loaded: LoadedModel;
  release(): void;
}

/** A sequence borrowed from a loaded model for one request; release() returns it. */
export interface SequenceLease {
  loaded: LoadedModel;
  sequence: LlamaContextSequence;
  /** nanoseconds from asking for the model until the sequence was ready: loading it, then waiting for a free sequence */
  loadNs: number;
  release(): void;
}

/** A model in memory, as /api/ps-style listings describe it. */
export interface RunningModel {
  info: ModelInfo;
  /** bytes of memory taken by the weights and the context (node-llama-cpp's accounting) */
  sizeBytes: number;
  /** the part of sizeBytes in GPU memory */
  vramBytes: number;
  contextLength: number;
  /** when it is unloaded if nobody uses it until then; null: kept loaded forever */
  expiresAt: Date | null;
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
    private readonly loadOptions: EffectiveLoadOptions,
    private readonly maxQueue: number,
  ) {
    this.free = sequences;
  }

  /** Tokens a single request may use: each sequence owns the full context, never a share. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** node-llama-cpp's accounting of the weights' and the context's memory. */
  memory(): { totalBytes: number; vramBytes: number } {
    const model = this.model.memoryUsage;
    const context = this.context.memoryUsage;
    return { totalBytes: model.ram + model.vram + context.ram + context.vram, vramBytes: model.vram + context.vram };
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

  /** Not cached: a request's template is its own, and building the wrapper is cheap next to generating. */
  private customWrapper(template: string, reasoning: boolean | undefined): ChatWrapper {
    try {
      return new JinjaTemplateChatWrapper({ template, tokenizer: this.model.tokenizer, reasoning: reasoning ?? null });
    } catch (err) {
      throw new InvalidRequestError(`template cannot be used as a Jinja chat template: ${(err as Error).message}`, "template");
    }
  }

  /**
   * The embeddings context, created on the first embedding request: llama.cpp decides when a context
   * is created whether it returns hidden states or logits, so embeddings cannot share the sequences.
   * Its batch spans the whole context because pooled (mean, CLS) embeddings need every token in one pass.
   */
  embeddingContext(): Promise<LlamaEmbeddingContext> {
    if (!this.embedding) {
      const creating = this.model.createEmbeddingContext({ contextSize: this.contextSize, batchSize: this.contextSize, threads: this.loadOptions.threads });
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


/** Where a model stands in the pool: loading or loaded, who holds it, and when it goes once idle. */
interface Slot {
  info: ModelInfo;
  options: EffectiveLoadOptions;
  loading: Promise<LoadedModel>;
  loaded?: LoadedModel;
  /** requests holding the model; it is never unloaded under them */
  users: number;
  /** set by the latest request: Infinity keeps it forever, 0 unloads it as soon as it is idle */
  keepAliveMs: number;
  /** epoch ms at which an idle model is unloaded */
  expiresAt?: number;
  timer?: ReturnType<typeof setTimeout>;
  /** set once a request asked for other load options: called when the last request using it ends */
  onIdle?: () => void;
}

/**
 * Loads models on first use (concurrent requests for a model that is loading share one load)
 * and unloads them once idle past their keep-alive, Ollama-style: every request sets how long
 * the model stays after it, and the clock starts when the last request using it ends.
 * A request asking for other load options than the loaded model's reloads it with them once the
 * requests using it are done; requests arriving meanwhile with the same options share the reload.
 */
export class ModelPool {
  private slots = new Map<string, Slot>();
  /** models being disposed: loading the same file again waits until their memory is freed */
  private unloading = new Map<string, Promise<void>>();
  private readonly defaultKeepAliveMs: number;

  constructor(readonly llama: Llama, private options: PoolOptions) {
    this.defaultKeepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  }

  /** Holds the model (loading or reloading it when needed) until release(). */
  async hold(info: ModelInfo, options: HoldOptions = {}): Promise<ModelHold> {
    const slot = this.slotFor(info, this.effective(options.load ?? {}));
    slot.users++;
    slot.keepAliveMs = options.keepAliveMs ?? this.defaultKeepAliveMs;
    slot.expiresAt = undefined;
    clearTimeout(slot.timer);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.letGo(slot);
    };
    try {
      return { loaded: await slot.loading, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  async lease(info: ModelInfo, signal?: AbortSignal, options: HoldOptions = {}): Promise<SequenceLease> {
    const started = process.hrtime.bigint();
    const hold = await this.hold(info, options);
    try {
      const sequence = await hold.loaded.acquire(signal);
      const release = () => {
        hold.loaded.release(sequence);
        hold.release();
      };
      return { loaded: hold.loaded, sequence, loadNs: Number(process.hrtime.bigint() - started), release };
    } catch (err) {
      hold.release();
      throw err;
    }
  }

  /** Unloads the model now, or as soon as the requests using it are done; resolves once an idle model's memory is freed. */
  unload(info: ModelInfo): Promise<void> {
    const slot = this.slots.get(info.path);
    if (!slot) return this.unloading.get(info.path) ?? Promise.resolve();
    slot.keepAliveMs = 0;
    return slot.users > 0 ? Promise.resolve() : this.expire(slot);
  }

  running(): RunningModel[] {
    const now = Date.now();
    const running: RunningModel[] = [];
    for (const slot of this.slots.values()) {
      if (!slot.loaded) continue;
      const memory = slot.loaded.memory();
      const expiresAt = slot.keepAliveMs === Infinity ? null : new Date(slot.expiresAt ?? now + slot.keepAliveMs);
      running.push({ info: slot.info, sizeBytes: memory.totalBytes, vramBytes: memory.vramBytes, contextLength: slot.loaded.contextSize, expiresAt });
    }
    return running;
  }

  /** The request's load options with the pool's defaults filled in, so that equal settings compare equal. */
  private effective(load: LoadOptions): EffectiveLoadOptions {
    return {
      // Without GPU offloading every layer count loads the same model, so none is worth a reload.
      gpuLayers: this.llama.supportsGpuOffloading ? (load.gpuLayers ?? "auto") : "auto",
      threads: load.threads ?? this.options.threads,
      batchSize: load.batchSize,
      useMmap: load.useMmap ?? true,
    };
  }

  private slotFor(info: ModelInfo, options: EffectiveLoadOptions): Slot {
    const existing = this.slots.get(info.path);
    if (existing && sameLoadOptions(existing.options, options)) return existing;
    const previous = existing ? this.replace(existing) : (this.unloading.get(info.path) ?? Promise.resolve());
    const slot: Slot = { info, options, loading: previous.then(() => this.load(info, options)), users: 0, keepAliveMs: this.defaultKeepAliveMs };
    slot.loading.then(
      (loaded) => (slot.loaded = loaded),
      () => {
        if (this.slots.get(info.path) === slot) this.slots.delete(info.path);
      },
    );
    this.slots.set(info.path, slot);
    return slot;
  }

  /** Takes the slot out of the pool; resolves once the requests using it are done and its memory is freed. */
  private replace(slot: Slot): Promise<void> {
    clearTimeout(slot.timer);
    this.slots.delete(slot.info.path);
    const idle = slot.users > 0 ? new Promise<void>((resolve) => (slot.onIdle = resolve)) : Promise.resolve();
    return idle.then(() => this.retire(slot));
  }

  private letGo(slot: Slot): void {
    slot.users--;
    if (slot.users > 0) return;
    if (slot.onIdle) return slot.onIdle();
    if (slot.keepAliveMs === Infinity) return;
    slot.expiresAt = Date.now() + Math.max(0, slot.keepAliveMs);
    this.schedule(slot);
  }

  private schedule(slot: Slot): void {
    const wait = slot.expiresAt! - Date.now();
    if (wait <= 0) {
      void this.expire(slot);
      return;
    }
    slot.timer = setTimeout(() => this.schedule(slot), Math.min(wait, MAX_TIMER_MS));
    // A pending unload is no reason for the process to stay alive.
    slot.timer.unref?.();
  }

  private expire(slot: Slot): Promise<void> {
    clearTimeout(slot.timer);
    const path = slot.info.path;
    if (this.slots.get(path) !== slot) return this.unloading.get(path) ?? Promise.resolve();
    this.slots.delete(path);
    return this.retire(slot);
  }

  /** Disposes a slot already out of the pool; loading its file again waits for the memory to be freed. */
  private retire(slot: Slot): Promise<void> {
    const path = slot.info.path;
    const disposed: Promise<void> = slot.loading
      .then((loaded) => loaded.dispose(), () => undefined)
      .catch((err) => console.warn(`hearth: unloading ${slot.info.name} failed: ${(err as Error).message}`))
      .finally(() => {
        if (this.unloading.get(path) === disposed) this.unloading.delete(path);
      });
    this.unloading.set(path, disposed);
    return disposed;
  }

  private async load(info: ModelInfo, options: EffectiveLoadOptions): Promise<LoadedModel> {
    const model = await this.llama.loadModel({ modelPath: info.path, gpuLayers: options.gpuLayers, useMmap: options.useMmap });
    try {
      const contextSize = Math.min(this.options.contextSize, model.trainContextSize);
      const context = await model.createContext({
        contextSize,
        sequences: this.options.parallel,
        threads: options.threads,
        batchSize: options.batchSize,
      });
      const sequences = Array.from({ length: this.options.parallel }, () => context.getSequence());
      return new LoadedModel(info, model, context, sequences, options, this.options.maxQueue);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  async dispose(): Promise<void> {
    const slots = [...this.slots.values()];
    for (const slot of slots) clearTimeout(slot.timer);
    this.slots.clear();
    await Promise.all([...this.unloading.values()]);
    for (const slot of slots) await (await slot.loading.catch(() => undefined))?.dispose();
  }
}

function sameLoadOptions(a: EffectiveLoadOptions, b: EffectiveLoadOptions): boolean {
  return a.gpuLayers === b.gpuLayers && a.threads === b.threads && a.batchSize === b.batchSize && a.useMmap === b.useMmap;
}
