import { totalmem } from "node:os";
import { GgufInsights, readGgufFileInfo, type Llama, type LlamaModel } from "node-llama-cpp";
import type { ModelInfo } from "../models/catalog.ts";
import { InsufficientMemoryError } from "../errors.ts";

export interface MemoryEstimate {
  /** the weights, in RAM and VRAM together */
  modelBytes: number;
  /** the KV cache and compute buffers of a context with every sequence at its full length */
  contextBytes: number;
}

export interface ContextShape {
  /** tokens per sequence */
  contextSize: number;
  sequences: number;
  gpuLayers: number | "auto";
  batchSize?: number;
  useMmap: boolean;
  flashAttention?: boolean | "auto";
}

/**
 * node-llama-cpp's estimate of what loading the model and creating its context will take, read
 * from the GGUF's header without loading the weights. The split between RAM and VRAM depends on
 * how many layers are offloaded, their sum hardly does, so the sum is what a budget is held to.
 */
export async function estimateMemory(llama: Llama, path: string, shape: ContextShape): Promise<MemoryEstimate> {
  const insights = await GgufInsights.from(await readGgufFileInfo(path, { sourceType: "filesystem" }), llama);
  const gpuLayers = !llama.supportsGpuOffloading ? 0 : shape.gpuLayers === "auto" ? insights.totalLayers : Math.min(shape.gpuLayers, insights.totalLayers);
  const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers, useMmap: shape.useMmap });
  const context = await insights.estimateContextResourceRequirementsV2({
    contextSize: Math.min(shape.contextSize, insights.trainContextSize ?? shape.contextSize),
    sequences: shape.sequences,
    modelGpuLayers: gpuLayers,
    batchSize: shape.batchSize,
    useMmap: shape.useMmap,
    flashAttention: shape.flashAttention,
  });
  return { modelBytes: model.cpuRam + model.gpuVram, contextBytes: context.cpuRam + context.gpuVram };
}

/**
 * node-llama-cpp's estimate of an embeddings context as LoadedModel creates it: one sequence, its
 * batch spanning the context, and node-llama-cpp's default flash attention, which it creates every
 * embeddings context with (a ranking context is one too). node-llama-cpp keeps what such a context
 * takes to itself; its accounting of a context is this same estimate.
 */
export async function estimateEmbeddingContext(model: LlamaModel, contextSize: number): Promise<{ ram: number; vram: number }> {
  const estimate = await model.fileInsights.estimateContextResourceRequirementsV2({
    contextSize,
    sequences: 1,
    batchSize: contextSize,
    isEmbeddingContext: true,
    modelGpuLayers: model.gpuLayers,
    flashAttention: model.defaultContextFlashAttention,
  });
  return { ram: estimate.cpuRam, vram: estimate.gpuVram };
}

/** The default budget: the machine's RAM plus any GPU memory that is not RAM shared with the GPU. */
export async function machineMemory(llama: Llama): Promise<number> {
  if (!llama.gpu) return totalmem();
  const vram = await llama.getVramState();
  return totalmem() + Math.max(0, vram.total - vram.unifiedSize);
}

/** node-llama-cpp's own checks against the memory actually free fail with InsufficientMemoryError too; they get the model's name. */
export function asMemoryError(info: ModelInfo): (err: Error) => never {
  return (err) => {
    if (err.name === "InsufficientMemoryError") throw new InsufficientMemoryError(`model "${info.name}" cannot be loaded: ${err.message}`);
    throw err;
  };
}
