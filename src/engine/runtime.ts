import { getLlama, getLlamaGpuTypes, LlamaLogLevel, type Llama } from "node-llama-cpp";

/** The runtimes --gpu may ask for: "auto" tries each GPU runtime and then the CPU. */
export const GPU_CHOICES = ["auto", "cuda", "metal", "vulkan", "cpu"] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];
/** --flash-attention: "auto" is llama.cpp's own choice (flashAttentionFor). */
export const FLASH_ATTENTION_CHOICES = ["auto", "on", "off"] as const;
export type FlashAttentionChoice = (typeof FLASH_ATTENTION_CHOICES)[number];

export interface Runtime {
  llama: Llama;
  threads: number;
  /** e.g. "CPU (2 threads)" or "CUDA: NVIDIA H100 80GB HBM3" */
  description: string;
}

export class GpuUnavailableError extends Error {}

/**
 * Loads llama.cpp's prebuilt binaries. "auto" lets node-llama-cpp try CUDA, Metal, Vulkan and
 * then CPU, falling back (with its own warning) when a GPU runtime is missing or broken; a
 * forced choice fails loudly instead. Never compiles llama.cpp: a server must start the same
 * way on every boot.
 */
export async function loadRuntime(gpu: GpuChoice, threads?: number): Promise<Runtime> {
  let llama: Llama;
  try {
    llama = await getLlama({
      gpu: gpu === "cpu" ? false : gpu,
      build: "never",
      logLevel: LlamaLogLevel.error,
      maxThreads: threads,
    });
  } catch (err) {
    if (gpu === "auto" || gpu === "cpu") throw err;
    const reason = (err as Error).message || (err as Error).name;
    throw new GpuUnavailableError(`--gpu ${gpu} was requested, but no usable ${gpu} runtime loads on this machine (${reason}); use --gpu auto to fall back to another backend`);
  }
  // node-llama-cpp's own default spawns more threads than math cores, which oversubscribes
  // small machines and makes decoding many times slower.
  const effectiveThreads = threads ?? llama.cpuMathCores;
  return { llama, threads: effectiveThreads, description: await describe(llama, effectiveThreads, gpu) };
}

async function describe(llama: Llama, threads: number, asked: GpuChoice): Promise<string> {
  if (llama.gpu === false) {
    const cpu = `CPU (${threads} threads${isNativeBuild(llama) ? ", llama.cpp compiled for this CPU with OpenMP" : ""})`;
    if (asked !== "auto") return cpu;
    const detected = await getLlamaGpuTypes("supported").catch(() => []);
    const gpus = detected.filter((t) => t !== false);
    return gpus.length === 0 ? `${cpu}, no GPU detected` : `${cpu}, ${gpus.join("/")} detected but unusable`;
  }
  const names = await llama.getGpuDeviceNames().catch(() => []);
  const label = { cuda: "CUDA", metal: "Metal", vulkan: "Vulkan" }[llama.gpu] ?? String(llama.gpu);
  return names.length > 0 ? `${label}: ${names.join(", ")}` : label;
}

/** The runtime of the cpu-native build flavor: node-llama-cpp's source build with GGML_NATIVE and OpenMP. */
function isNativeBuild(llama: Llama): boolean {
  const options: Record<string, string> = llama.cmakeOptions;
  return options.GGML_NATIVE === "ON" && options.GGML_OPENMP === "ON";
}

/**
 * "auto" is llama.cpp's own choice, as llama-server makes it: flash attention wherever the backend
 * has it, CPUs included. On the benchmark preset (Zen 5 VM, 2 threads) it prefills a
 * 1,000-token prompt 1.32× as fast (191 against 145 tokens/s) and an 8,000-token one 1.32×,
 * while decoding after 1,000 tokens at 0.98× and after 8,000 at 0.69× (7.5 against 10.8
 * tokens/s): prompts are what agents wait for, and `--flash-attention off` is there for long
 * chats of short prompts. A context cannot switch it per batch: the KV cache's V layout differs.
 */
export function flashAttentionFor(choice: FlashAttentionChoice): boolean | "auto" {
  if (choice === "on") return true;
  if (choice === "off") return false;
  return "auto";
}
