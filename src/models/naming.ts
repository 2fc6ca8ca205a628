import { join, relative, sep } from "node:path";
import { InvalidRequestError } from "../errors.ts";

/**
 * Model names follow Ollama's `name:tag` shape, derived from the path under the models folder:
 *   models/qwen3.gguf         → "qwen3"      (also answers to "qwen3:latest")
 *   models/qwen3/0.6b-q8.gguf → "qwen3:0.6b-q8"
 * Deeper folders join with "/" ("org/qwen3:tag"), mirroring Ollama's namespaces. A file named
 * latest.gguf is its folder's untagged model ("org/qwen3/latest.gguf" → "org/qwen3").
 */
export function modelNameForPath(modelsDir: string, file: string): string {
  const parts = relative(modelsDir, file).split(sep);
  const stem = parts.pop()!.replace(/\.gguf$/i, "");
  return canonicalModelName(parts.length === 0 ? stem : `${parts.join("/")}:${stem}`);
}

/** The forms a client may use for one model: "x" and "x:latest" are the same model. */
export function canonicalModelName(requested: string): string {
  return requested.endsWith(":latest") ? requested.slice(0, -":latest".length) : requested;
}

/** The name as Ollama clients expect it, always with a tag: "qwen3" → "qwen3:latest". */
export function taggedModelName(name: string): string {
  // A host's port ("127.0.0.1:5000/library/x") is no tag: only a ":" after the last "/" is.
  return name.lastIndexOf(":") > name.lastIndexOf("/") ? name : `${name}:latest`;
}

/**
 * Letters, digits, "_", "." and "-", not starting with "." or "-": every part is a plain file or
 * folder name, so no name can climb out of the models folder ("..") or hide a file (".x").
 */
const NAME_PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * The file a model name lives in: the inverse of modelNameForPath. Top-level names without a tag
 * are files ("x", "x:latest" → x.gguf); a tag is a file in the name's folder ("x:q8" → x/q8.gguf);
 * a namespaced name without a tag is that folder's latest.gguf ("org/x" → org/x/latest.gguf).
 * A name that could point outside the folder is an InvalidRequestError naming `field`.
 */
export function pathForModelName(modelsDir: string, requested: string, field = "model"): string {
  const name = canonicalModelName(requested);
  const colon = name.indexOf(":");
  const repo = colon < 0 ? name : name.slice(0, colon);
  const tag = colon < 0 ? undefined : name.slice(colon + 1);
  const parts = repo.split("/");
  for (const part of [...parts, ...(tag === undefined ? [] : [tag])]) {
    if (!NAME_PART.test(part)) {
      const reason = part === "" ? "a part is empty" : `"${part}" is not letters, digits, "_", "." and "-" starting with a letter, digit or "_"`;
      throw new InvalidRequestError(`invalid ${field} "${requested}": ${reason}`, field);
    }
  }
  if (tag !== undefined) return join(modelsDir, ...parts, `${tag}.gguf`);
  return parts.length === 1 ? join(modelsDir, `${repo}.gguf`) : join(modelsDir, ...parts, "latest.gguf");
}
