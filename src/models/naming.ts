import { relative, sep } from "node:path";

/**
 * Model names follow Ollama's `name:tag` shape, derived from the path under the models folder:
 *   models/qwen3.gguf         → "qwen3"      (also answers to "qwen3:latest")
 *   models/qwen3/0.6b-q8.gguf → "qwen3:0.6b-q8"
 * Deeper folders join with "/" ("org/qwen3:tag"), mirroring Ollama's namespaces.
 */
export function modelNameForPath(modelsDir: string, file: string): string {
  const parts = relative(modelsDir, file).split(sep);
  const stem = parts.pop()!.replace(/\.gguf$/i, "");
  return parts.length === 0 ? stem : `${parts.join("/")}:${stem}`;
}

/** The forms a client may use for one model: "x" and "x:latest" are the same model. */
export function canonicalModelName(requested: string): string {
  return requested.endsWith(":latest") ? requested.slice(0, -":latest".length) : requested;
}
