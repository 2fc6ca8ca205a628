import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface OllamaModelLayers {
  /** the GGUF file */
  model: string;
  template?: string;
  system?: string;
  params?: Record<string, unknown>;
  license?: string;
  messages?: Array<{ role: string; content: string }>;
}

/**
 * Writes a model into a folder laid out as Ollama's own store (~/.ollama/models): blobs named
 * sha256-<hex>, and a manifest at manifests/<host>/<namespace>/<model>/<tag> — what `ollama pull`
 * leaves, written here without Hearth's code so that reading it tests Hearth against the layout.
 */
export async function writeOllamaModel(root: string, name: { host?: string; namespace?: string; model: string; tag?: string }, layers: OllamaModelLayers): Promise<{ manifestDigest: string; manifestPath: string }> {
  await mkdir(join(root, "blobs"), { recursive: true });
  const blob = async (bytes: Uint8Array | string, mediaType: string) => {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    const hex = createHash("sha256").update(data).digest("hex");
    await writeFile(join(root, "blobs", `sha256-${hex}`), data);
    return { mediaType, digest: `sha256:${hex}`, size: data.byteLength };
  };
  const model = await blob(await readFile(layers.model), "application/vnd.ollama.image.model");
  const extra = [
    layers.template === undefined ? undefined : await blob(layers.template, "application/vnd.ollama.image.template"),
    layers.system === undefined ? undefined : await blob(layers.system, "application/vnd.ollama.image.system"),
    layers.params === undefined ? undefined : await blob(JSON.stringify(layers.params), "application/vnd.ollama.image.params"),
    layers.license === undefined ? undefined : await blob(layers.license, "application/vnd.ollama.image.license"),
    layers.messages === undefined ? undefined : await blob(JSON.stringify(layers.messages), "application/vnd.ollama.image.messages"),
  ].filter((l) => l !== undefined);
  const config = await blob(
    JSON.stringify({ model_format: "gguf", model_family: "qwen3", model_families: ["qwen3"], model_type: "", file_type: "F16", architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [model.digest] } }),
    "application/vnd.docker.container.image.v1+json",
  );
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config, layers: [model, ...extra] });
  const manifestPath = join(root, "manifests", name.host ?? "registry.ollama.ai", name.namespace ?? "library", name.model, name.tag ?? "latest");
  await mkdir(join(manifestPath, ".."), { recursive: true });
  await writeFile(manifestPath, manifest);
  return { manifestDigest: createHash("sha256").update(manifest).digest("hex"), manifestPath };
}

/** Every file under a folder with its size and modification time: a snapshot to prove nothing was written. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const result: Record<string, string> = {};
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    const st = await stat(path);
    result[path] = `${e.isDirectory() ? "dir" : st.size}@${st.mtimeMs}`;
  }
  return result;
}
