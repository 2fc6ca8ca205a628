import { InvalidRequestError } from "../errors.ts";

/**
 * Ollama's model names, `[scheme://]host/namespace/model:tag`, as its types/model package parses
 * them: the defaults fill what is left out (`qwen3:0.6b` is `registry.ollama.ai/library/qwen3:0.6b`),
 * a tag is only what follows the last ":" after the last "/" (so `127.0.0.1:5000/library/x` has a
 * host with a port and the tag `latest`), and names compare case-insensitively.
 */
export interface OllamaName {
  scheme: string;
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

export const DEFAULT_HOST = "registry.ollama.ai";
export const DEFAULT_NAMESPACE = "library";
export const DEFAULT_TAG = "latest";

/** The fields a name may come from, for the 400 that names the field. */
export function parseOllamaName(raw: string, field = "model"): OllamaName {
  const invalid = (why: string) => new InvalidRequestError(`invalid ${field} "${raw}": ${why}`, field);
  let rest = raw;
  let scheme = "https";
  const schemeAt = rest.indexOf("://");
  if (schemeAt >= 0) {
    scheme = rest.slice(0, schemeAt).toLowerCase();
    rest = rest.slice(schemeAt + 3);
    if (scheme !== "http" && scheme !== "https") throw invalid(`the scheme must be http or https, not "${scheme}"`);
  }
  let tag = DEFAULT_TAG;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (rest.includes("@")) throw invalid("a name carries no credentials or digests (\"@\")");
  const parts = rest.split("/");
  if (parts.length > 3) throw invalid("a name is [host/][namespace/]model[:tag]");
  const model = parts.pop()!;
  const namespace = parts.pop() ?? DEFAULT_NAMESPACE;
  const host = parts.pop() ?? DEFAULT_HOST;
  checkPart(host, "host", invalid);
  checkPart(namespace, "namespace", invalid);
  checkPart(model, "model", invalid);
  checkPart(tag, "tag", invalid);
  return { scheme, host, namespace, model, tag };
}

type Kind = "host" | "namespace" | "model" | "tag";

/**
 * Ollama's isValidPart: a letter, digit or "_" first, then letters, digits, "_", "-", "." (not in a
 * namespace) and ":" (only in a host). No part can be "." or "..", so none climbs out of a folder.
 */
function checkPart(part: string, kind: Kind, invalid: (why: string) => Error): void {
  const max = kind === "host" ? 350 : 80;
  if (part.length === 0) throw invalid(`the ${kind} is empty`);
  if (part.length > max) throw invalid(`the ${kind} is longer than ${max} characters`);
  const rest = kind === "host" ? "[A-Za-z0-9_.:-]" : kind === "namespace" ? "[A-Za-z0-9_-]" : "[A-Za-z0-9_.-]";
  if (!new RegExp(`^[A-Za-z0-9_]${rest}*$`).test(part)) {
    throw invalid(`the ${kind} "${part}" must start with a letter, digit or "_" and hold only letters, digits, "_", "-"${kind === "namespace" ? "" : ', "."'}${kind === "host" ? ' and ":"' : ""}`);
  }
}

/** Ollama's DisplayShortest: `qwen3:0.6b`, `me/model:tag`, `host:5000/ns/model:tag`. */
export function displayName(name: OllamaName): string {
  const tagged = `${name.model}:${name.tag}`;
  if (name.host.toLowerCase() !== DEFAULT_HOST) return `${name.host}/${name.namespace}/${tagged}`;
  if (name.namespace.toLowerCase() !== DEFAULT_NAMESPACE) return `${name.namespace}/${tagged}`;
  return tagged;
}

/** The full name, every part present: what two names are compared by. */
export function fullName(name: OllamaName): string {
  return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
}

export function sameName(a: OllamaName, b: OllamaName): boolean {
  return fullName(a).toLowerCase() === fullName(b).toLowerCase();
}

/** Hugging Face hosts its own Ollama-compatible registry for GGUF repositories. */
export function isHuggingFace(name: OllamaName): boolean {
  const host = name.host.toLowerCase();
  return host === "hf.co" || host === "huggingface.co";
}
