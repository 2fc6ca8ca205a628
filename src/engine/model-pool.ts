import type { Llama, LlamaContextSequence, Token } from "node-llama-cpp";
import type { ModelInfo } from "../models/catalog.ts";
import { keepSequencesInStep } from "./batch-sync.ts";
import { LoadedModel, type EffectiveLoadOptions } from "./loaded-model.ts";
import { asMemoryError, estimateMemory, type MemoryEstimate } from "./memory-estimate.ts";
import type { DraftingMode } from "./draft-payoff.ts";
import { predictingSequence } from "./prediction.ts";
import { CancelledError, InsufficientMemoryError } from "../errors.ts";
import type { LoadOptions } from "./types.ts";

/** Ollama's default: a model nobody has used for five minutes is unloaded. */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;
/** setTimeout fires at once for delays beyond 2^31 - 1 ms, so longer keep-alives are waited out in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_ESTIMATES = 64;

export interface PoolOptions {
  contextSize: number;
  parallel: number;
  threads: number;
  /** requests allowed to wait for a sequence; more are refused with ServerBusyError */
  maxQueue: number;
  /** how long an idle model stays loaded when a request does not say; default DEFAULT_KEEP_ALIVE_MS */
  keepAliveMs?: number;
  /** models loaded at once; loading one more unloads the least recently used idle model */
  maxLoadedModels: number;
  /** bytes (RAM and VRAM together) the loaded models may take by node-llama-cpp's estimates */
  memoryBudget: number;
  /** llama.cpp's flash attention for the contexts: on, off, or node-llama-cpp's choice; default "auto" */
  flashAttention?: boolean | "auto";
  /** when sequences draft tokens from a request's prediction; default "auto" (where it pays, measured) */
  drafting?: DraftingMode;
}

/** What a request asks of the model it holds. */
export interface HoldOptions {
  /** how long the model stays loaded once idle; undefined means the pool's default */
  keepAliveMs?: number;
  /** how the model must be loaded; undefined fields mean the pool's defaults */
  load?: LoadOptions;
  /** the client went away: stop waiting for the model */
  signal?: AbortSignal;
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
  /** nanoseconds spent loading the model (or waiting for its load) and waiting for a free sequence */
  loadNs: number;
  release(): void;
}

/** A model in memory, as /api/ps-style listings describe it. */
export interface RunningModel {
  info: ModelInfo;
  /** bytes of memory taken by the weights, the context and the embeddings and ranking contexts where there are any (node-llama-cpp's accounting) */
  sizeBytes: number;
  /** the part of sizeBytes in GPU memory */
  vramBytes: number;
  contextLength: number;
  /** when it is unloaded if nobody uses it until then; null: kept loaded forever */
  expiresAt: Date | null;
}

/** Where a model stands in the pool: loading or loaded, who holds it, and when it goes once idle. */
interface Slot {
  info: ModelInfo;
  options: EffectiveLoadOptions;
  loading: Promise<LoadedModel>;
  loaded?: LoadedModel;
  /** set once room was made for it: from then on it counts against the model limit and the budget */
  estimate?: MemoryEstimate;
  /** requests holding the model; it is never unloaded under them */
  users: number;
  /** when a request last let go of it (or took it): the least recent idle model is evicted first */
  lastUsed: number;
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
 * Before a load, node-llama-cpp estimates the memory the model and its context need; a model
 * that cannot fit the budget at all is refused, otherwise the least recently used idle models
 * are unloaded until it fits (and the load waits for busy ones to become idle if that is not enough).
 * A request asking for other load options than the loaded model's reloads it with them once the
 * requests using it are done; requests arriving meanwhile with the same options share the reload.
 */
export class ModelPool {
  private slots = new Map<string, Slot>();
  /** models being disposed: their memory is not free yet, and loading the same file again waits for it */
  private unloading = new Map<string, Promise<void>>();
  /** loads waiting for a model to become idle or leave, to make room */
  private roomWaiters: Array<() => void> = [];
  /** room is made for one load at a time, so two loads never count on the same free memory */
  private roomQueue: Promise<void> = Promise.resolve();
  /** estimates by file and load options: reading them runs llama.cpp's memory simulation, which takes a while for large models */
  private estimates = new Map<string, Promise<MemoryEstimate>>();
  private readonly defaultKeepAliveMs: number;

  constructor(readonly llama: Llama, private options: PoolOptions) {
    this.defaultKeepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  }

  /** Holds the model (loading or reloading it when needed) until release(). */
  async hold(info: ModelInfo, options: HoldOptions = {}): Promise<ModelHold> {
    const slot = this.slotFor(info, this.effective(options.load ?? {}));
    slot.users++;
    slot.lastUsed = Date.now();
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
      return { loaded: await untilAborted(slot.loading, options.signal), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Holds the model, lets `prepare` plan the request on it (render and tokenize its prompt), then
   * leases the idle sequence whose cache shares the longest prefix with the planned prompt, or
   * queues for the next one freed.
   */
  async lease<P extends { prompt: readonly Token[] }>(info: ModelInfo, options: HoldOptions, prepare: (loaded: LoadedModel) => P): Promise<{ lease: SequenceLease; plan: P }> {
    const started = process.hrtime.bigint();
    const hold = await this.hold(info, options);
    try {
      const held = process.hrtime.bigint();
      const plan = prepare(hold.loaded);
      const planned = process.hrtime.bigint();
      const sequence = await hold.loaded.acquire(plan.prompt, options.signal);
      const release = () => {
        hold.loaded.release(sequence);
        hold.release();
      };
      // Planning renders the prompt: that is prompt processing, not loading.
      const loadNs = Number(held - started + (process.hrtime.bigint() - planned));
      return { lease: { loaded: hold.loaded, sequence, loadNs, release }, plan };
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

  /** Requests waiting for a sequence, over every loaded model. */
  queued(): number {
    let waiting = 0;
    for (const slot of this.slots.values()) waiting += slot.loaded?.queued ?? 0;
    return waiting;
  }

  /** The request's load options with the pool's defaults filled in, so that equal settings compare equal. */
  private effective(load: LoadOptions): EffectiveLoadOptions {
    return {
      // Without GPU offloading every layer count loads the same model, so none is worth a reload.
      gpuLayers: this.llama.supportsGpuOffloading ? (load.gpuLayers ?? "auto") : "auto",
      threads: load.threads ?? this.options.threads,
      // llama.cpp clamps a batch to the context: a larger one would change nothing but the memory estimate.
      batchSize: load.batchSize === undefined ? undefined : Math.min(load.batchSize, this.options.contextSize),
      useMmap: load.useMmap ?? true,
    };
  }

  private slotFor(info: ModelInfo, options: EffectiveLoadOptions): Slot {
    const existing = this.slots.get(info.path);
    if (existing && sameLoadOptions(existing.options, options)) return existing;
    const previous = existing ? this.replace(existing) : (this.unloading.get(info.path) ?? Promise.resolve());
    const slot: Slot = { info, options, loading: undefined as never, users: 0, lastUsed: Date.now(), keepAliveMs: this.defaultKeepAliveMs };
    slot.loading = previous.then(() => this.load(slot));
    slot.loading.then(
      (loaded) => (slot.loaded = loaded),
      () => {
        if (this.slots.get(info.path) === slot) this.slots.delete(info.path);
        this.roomChanged();
      },
    );
    this.slots.set(info.path, slot);
    return slot;
  }

  /** Takes the slot out of the pool; resolves once the requests using it are done and its memory is freed. */
  private replace(slot: Slot): Promise<void> {
    clearTimeout(slot.timer);
    this.slots.delete(slot.info.path);
    this.roomChanged();
    const idle = slot.users > 0 ? new Promise<void>((resolve) => (slot.onIdle = resolve)) : Promise.resolve();
    return idle.then(() => this.retire(slot));
  }

  private letGo(slot: Slot): void {
    slot.users--;
    slot.lastUsed = Date.now();
    if (slot.users > 0) return;
    // Idle models can make room, and a load nobody waits for any more stops waiting for room.
    this.roomChanged();
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
    // A load of this slot waiting for room must learn at once that it is no longer wanted.
    this.roomChanged();
    const disposed: Promise<void> = slot.loading
      .then((loaded) => loaded.dispose(), () => undefined)
      .catch((err) => console.warn(`hearth: unloading ${slot.info.name} failed: ${(err as Error).message}`))
      .finally(() => {
        if (this.unloading.get(path) === disposed) this.unloading.delete(path);
        this.roomChanged();
      });
    this.unloading.set(path, disposed);
    return disposed;
  }

  private async load(slot: Slot): Promise<LoadedModel> {
    const { info, options } = slot;
    await this.makeRoom(slot, await this.estimate(info, options));
    const model = await this.llama.loadModel({ modelPath: info.path, gpuLayers: options.gpuLayers, useMmap: options.useMmap }).catch(asMemoryError(info));
    try {
      const contextSize = Math.min(this.options.contextSize, model.trainContextSize);
      const context = await model
        .createContext({ contextSize, sequences: this.options.parallel, threads: options.threads, batchSize: options.batchSize, flashAttention: this.options.flashAttention })
        .catch(asMemoryError(info));
      if (this.options.parallel > 1) keepSequencesInStep(context);
      const sequences = Array.from({ length: this.options.parallel }, () => predictingSequence(context, this.options.drafting ?? "auto"));
      return new LoadedModel(info, model, context, sequences, options, this.options.maxQueue);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  private estimate(info: ModelInfo, options: EffectiveLoadOptions): Promise<MemoryEstimate> {
    const key = JSON.stringify([info.path, info.sizeBytes, info.modifiedAt, options.gpuLayers, options.batchSize, options.useMmap]);
    let estimate = this.estimates.get(key);
    if (!estimate) {
      // Keys include load options clients choose (num_batch, num_gpu): keep the cache from growing without end.
      if (this.estimates.size >= MAX_ESTIMATES) this.estimates.clear();
      const shape = { contextSize: this.options.contextSize, sequences: this.options.parallel, flashAttention: this.options.flashAttention, ...options };
      estimate = estimateMemory(this.llama, info.path, shape);
      estimate.catch(() => this.estimates.delete(key));
      this.estimates.set(key, estimate);
    }
    return estimate;
  }

  /** Unloads idle models, least recently used first, until the slot fits the model limit and the memory budget. */
  private makeRoom(slot: Slot, estimate: MemoryEstimate): Promise<void> {
    const needed = estimate.modelBytes + estimate.contextBytes;
    if (needed > this.options.memoryBudget) {
      return Promise.reject(
        new InsufficientMemoryError(
          `model "${slot.info.name}" needs about ${gib(needed)} (weights ${gib(estimate.modelBytes)}, context ${gib(estimate.contextBytes)} for ` +
            `${this.options.parallel} sequences of ${this.options.contextSize} tokens), more than the memory budget of ${gib(this.options.memoryBudget)}`,
        ),
      );
    }
    const turn = this.roomQueue.then(async () => {
      for (;;) {
        this.ensureWanted(slot);
        await Promise.all(this.unloading.values());
        this.ensureWanted(slot);
        const others = [...this.slots.values()].filter((s) => s !== slot && s.estimate);
        const used = others.reduce((sum, s) => sum + slotBytes(s), 0);
        if (others.length < this.options.maxLoadedModels && used + needed <= this.options.memoryBudget) {
          slot.estimate = estimate;
          return;
        }
        const idle = others.filter((s) => s.users === 0 && s.loaded).sort((a, b) => a.lastUsed - b.lastUsed)[0];
        if (idle) await this.expire(idle);
        else await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      }
    });
    this.roomQueue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * A load waiting for room gives up once every request that wanted it has gone: otherwise it
   * would evict models for nobody, and once unloaded its slot's disposal would wait for this very
   * load while every later load queues behind it. (A slot replaced by a reload still loads for the
   * requests holding it.)
   */
  private ensureWanted(slot: Slot): void {
    if (slot.users === 0) throw new CancelledError();
  }

  private roomChanged(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  async dispose(): Promise<void> {
    const slots = [...this.slots.values()];
    for (const slot of slots) clearTimeout(slot.timer);
    this.slots.clear();
    this.roomChanged();
    await Promise.all([...this.unloading.values()]);
    for (const slot of slots) await (await slot.loading.catch(() => undefined))?.dispose();
  }
}

function sameLoadOptions(a: EffectiveLoadOptions, b: EffectiveLoadOptions): boolean {
  return a.gpuLayers === b.gpuLayers && a.threads === b.threads && a.batchSize === b.batchSize && a.useMmap === b.useMmap;
}

/**
 * A loaded model counts with what it takes, or what it was estimated to take if that is more (it may
 * still grow); embeddings and ranking contexts, created after the load and not in its estimate, count on top.
 */
function slotBytes(slot: Slot): number {
  const memory = slot.loaded?.memory();
  const estimated = slot.estimate!.modelBytes + slot.estimate!.contextBytes + (memory?.auxiliaryBytes ?? 0);
  return Math.max(estimated, memory?.totalBytes ?? 0);
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
