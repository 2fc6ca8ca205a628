import { stat } from "node:fs/promises";
import { GgufFileType, readGgufFileInfo } from "node-llama-cpp";
import { InvalidRequestError } from "../errors.ts";
import { checkDigest, isGgufFile, type OllamaStore } from "./store.ts";

/** The GGUF a create request's `files` name, uploaded beforehand, and what its header says. */
export interface UploadedGguf {
  fileName: string;
  digest: string;
  size: number;
  architecture: string;
  parameterCount: number;
  /** "Q8_0", "F16", …: GgufFileType's name, as Ollama names file types */
  quantization: string;
}

/**
 * Checks the files of a create request (file name → digest of an uploaded blob) and reads the
 * model's GGUF header. Every way the files can be wrong is a 400 naming `files.<name>`: a path that
 * is not relative, a bad digest, a blob never uploaded, safetensors (Ollama converts them with its
 * own converter; node-llama-cpp cannot), anything else that is not GGUF, and GGUFs Hearth cannot
 * load beside a model: LoRA adapters, vision projectors, split models.
 */
export async function uploadedGguf(store: OllamaStore, files: Record<string, string>): Promise<UploadedGguf> {
  const names = Object.keys(files).sort();
  if (names.length === 0) throw new InvalidRequestError("files is empty: name at least one uploaded GGUF file", "files");
  const models: UploadedGguf[] = [];
  for (const name of names) {
    const field = `files.${name}`;
    if (!isRelativePath(name)) throw new InvalidRequestError(`invalid ${field}: file path must be relative`, field);
    const digest = checkDigest(files[name]!, field);
    if (name.toLowerCase().endsWith(".safetensors")) {
      throw new InvalidRequestError(`${field}: safetensors cannot be converted: node-llama-cpp loads GGUF only. Convert the model with llama.cpp's convert_hf_to_gguf.py and upload the GGUF`, field);
    }
    if (!(await store.hasBlob(digest))) throw new InvalidRequestError(`${field}: blob ${digest} not found: upload it first with POST /api/blobs/${digest}`, field);
    const path = store.blobPath(digest);
    if (!(await isGgufFile(path))) throw new InvalidRequestError(`${field}: supplied file was not in GGUF format`, field);
    models.push(await describe(path, name, digest, field));
  }
  if (models.length > 1) {
    throw new InvalidRequestError(`files names ${models.length} GGUF files; Hearth takes one model file (merge a split model with llama-gguf-split --merge)`, "files");
  }
  return models[0]!;
}

async function describe(path: string, fileName: string, digest: string, field: string): Promise<UploadedGguf> {
  let info;
  try {
    info = await readGgufFileInfo(path, { logWarnings: false, ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"] });
  } catch (err) {
    throw new InvalidRequestError(`${field}: not a readable GGUF file: ${(err as Error).message}`, field);
  }
  const general = info.metadata.general as { architecture?: string; type?: string; file_type?: GgufFileType };
  const architecture = String(general.architecture ?? "");
  if (general.type === "adapter") throw new InvalidRequestError(`${field}: is a LoRA adapter; node-llama-cpp serves it only beside its model, which Hearth does not support`, field);
  if (general.type === "projector" || general.type === "mmproj" || architecture === "clip") {
    throw new InvalidRequestError(`${field}: is a vision projector; node-llama-cpp cannot load vision projectors yet`, field);
  }
  const parameterCount = (info.tensorInfo ?? []).reduce((sum, tensor) => sum + tensor.dimensions.reduce<number>((p, d) => p * Number(d), 1), 0);
  const fileType = general.file_type === undefined ? "unknown" : (GgufFileType[general.file_type] ?? "unknown").replace(/^(MOSTLY|ALL)_/, "");
  return { fileName, digest, size: (await stat(path)).size, architecture, parameterCount, quantization: fileType };
}

/** Go's fs.ValidPath: slash-separated, no empty, "." or ".." element, not rooted. */
function isRelativePath(name: string): boolean {
  if (name === ".") return true;
  return name.split("/").every((part) => part !== "" && part !== "." && part !== "..") && !name.includes("\\");
}
