import type { GgufFileInfo } from "node-llama-cpp";

/** Ollama's capability names, so /api/show and /v1/models can report them verbatim; "rerank" is Hearth's own. */
export type Capability = "completion" | "tools" | "thinking" | "embedding" | "insert" | "vision" | "rerank";

/** Encoder-only architectures: they embed text but cannot generate it. */
const EMBEDDING_ONLY_ARCHITECTURES = new Set(["bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "modern-bert", "neo-bert"]);
/** llama.cpp's LLAMA_POOLING_TYPE_RANK: the pooled output is the classification head's scores, not a vector. */
const RANK_POOLING = 4;
/** Classification heads llama.cpp ranks with (BERT/XLM-R rerankers' cls.weight, Qwen3-Reranker's cls.output.weight): node-llama-cpp looks for the same. */
const CLASSIFIER_TENSORS = new Set(["cls.weight", "cls.output.weight"]);

export function deriveCapabilities(model: {
  architecture: string;
  chatTemplate?: string;
  metadata: GgufFileInfo["metadata"];
  /** the GGUF's tensors, where they were read */
  tensors?: ReadonlyArray<{ name: string }>;
}): Capability[] {
  const caps: Capability[] = [];
  const template = model.chatTemplate ?? "";
  const tokenizer = (model.metadata.tokenizer ?? {}) as Record<string, unknown>;
  const archMeta = ((model.metadata as Record<string, unknown>)[model.architecture] ?? {}) as Record<string, unknown>;
  const embeddingOnly = EMBEDDING_ONLY_ARCHITECTURES.has(model.architecture);

  if (!embeddingOnly) caps.push("completion");
  // Templates that render a tools block are the ones trained to call functions.
  if (/\btools\b/.test(template)) caps.push("tools");
  if (/<think>|enable_thinking|reasoning_content/.test(template)) caps.push("thinking");
  if ((embeddingOnly || archMeta.pooling_type !== undefined) && archMeta.pooling_type !== RANK_POOLING) caps.push("embedding");
  if (!embeddingOnly && tokenizer.ggml !== undefined && hasFillInMiddleTokens(tokenizer.ggml as Record<string, unknown>)) caps.push("insert");
  if (model.tensors?.some((tensor) => CLASSIFIER_TENSORS.has(tensor.name))) caps.push("rerank");
  return caps;
}

function hasFillInMiddleTokens(ggml: Record<string, unknown>): boolean {
  return ggml.fim_pre_token_id !== undefined && ggml.fim_suf_token_id !== undefined && ggml.fim_mid_token_id !== undefined;
}
