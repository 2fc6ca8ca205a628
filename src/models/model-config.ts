import type { Layer } from "./store.ts";

/** Config fields a create request may set (Ollama's renderer, parser and requires), carried over from the base model otherwise. */
export interface ConfigExtras {
  renderer?: string;
  parser?: string;
  requires?: string;
}

/** What the config says about the weights: general.architecture, the parameter count as Ollama writes it, the file type. */
export interface WeightsFacts {
  architecture: string;
  parameterSize: string;
  fileType: string;
}

/**
 * The config blob of a created model: Ollama's model.ConfigV2 with its fields in Go's order and
 * its fixed os/architecture, and Docker's rootfs listing the layers, so registries take it as an
 * image config.
 */
export function modelConfig(weights: WeightsFacts, extras: ConfigExtras, layers: Layer[]): string {
  return goJson({
    model_format: "gguf",
    model_family: weights.architecture,
    model_families: [weights.architecture],
    model_type: weights.parameterSize,
    file_type: weights.fileType,
    ...(extras.renderer ? { renderer: extras.renderer } : {}),
    ...(extras.parser ? { parser: extras.parser } : {}),
    ...(extras.requires ? { requires: extras.requires } : {}),
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
  });
}

/**
 * JSON as Go's json.Encoder writes it: HTML-sensitive characters escaped and a closing newline,
 * so a layer Hearth writes has the digest Ollama's would (the same blob is "using existing layer").
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) + "\n";
}
