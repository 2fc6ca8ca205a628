import { readFile } from "node:fs/promises";
import { InvalidRequestError } from "../errors.ts";
import type { ModelCatalog } from "../models/catalog.ts";
import { DEFAULT_HOST, displayName, parseOllamaName } from "../models/ollama-name.ts";
import { MEDIA_TYPES, parseManifest, type Layer, type OllamaStore } from "../models/store.ts";
import { RegistryClient, RegistryError, type RegistryOptions, type TransferStatus } from "./client.ts";

export interface PushOptions extends RegistryOptions {
  signal: AbortSignal;
  /** called once the request is known to be sound: the first status line may only come after */
  onStatus: (status: TransferStatus) => void;
}

/**
 * Ollama's split of a blob into PATCH requests: 16 parts of at most 1000 MB, and at least the 16 MiB
 * Hearth's downloads take (Ollama's 100 MB minimum would send most models in one request, with
 * nothing to resume from).
 */
const PARTS = 16;
const MIN_PART = 16 * 1024 * 1024;
const MAX_PART = 1000 * 1000 * 1000;
const PROGRESS_EVERY_MS = 100;

/**
 * Ollama's PushModel: every layer, then the config, uploaded unless the registry has it (HEAD),
 * then the manifest, byte for byte as stored so that its digest is the same on both sides. Only a
 * stored model can be pushed: a plain GGUF file has no manifest until it is created.
 */
export async function pushModel(catalog: ModelCatalog, rawName: string, options: PushOptions, field = "model"): Promise<void> {
  const requested = parseOllamaName(rawName, field);
  const model = await catalog.get(rawName);
  if (!model.stored) {
    throw new InvalidRequestError(
      `${rawName} is the GGUF file ${model.path}, which has no manifest to push: create it first under the name to push it as, e.g. {"model": "<registry host>/<namespace>/${model.name}", "from": "${model.name}"} to /api/create, then push that name`,
      field,
    );
  }
  const { store, manifestPath } = model.stored;
  // The stored name's own letter case, as Ollama pushes it, and the request's http:// if it had one.
  const name = { ...model.stored.name, scheme: requested.scheme };
  if (name.host.toLowerCase() === DEFAULT_HOST) {
    throw new InvalidRequestError(
      `${displayName(name)} cannot be pushed: ${DEFAULT_HOST} only takes pushes signed with an ollama.com account's key (Ollama's ~/.ollama/id_ed25519), which Hearth does not have. Copy the model to a name on your own registry (host[:port]/namespace/model:tag) and push that, or push it with Ollama`,
      field,
    );
  }
  const client = new RegistryClient(name, options);
  const raw = await readFile(manifestPath);
  const manifest = parseManifest(raw.toString("utf8"), manifestPath);
  const layers = manifest.config?.digest ? [...manifest.layers, manifest.config] : manifest.layers;
  for (const layer of layers) {
    if (!(await store.hasBlob(layer.digest))) throw new RegistryError(`blob ${layer.digest} of ${displayName(name)} is missing from ${store.blobsDir}`, 500);
  }

  const emit = options.onStatus;
  emit({ status: "retrieving manifest" });
  for (const layer of layers) await uploadBlob(client, store, layer, options);

  emit({ status: "pushing manifest" });
  const url = client.url(`manifests/${name.tag}`);
  await client.check(await client.request("PUT", url, { headers: { "content-type": MEDIA_TYPES.manifest }, body: raw, signal: options.signal }), "push manifest");
  emit({ status: "success" });
}

/**
 * One blob, as Ollama's uploadBlob sends it: nothing when the registry has it already; otherwise
 * an upload session (POST), the bytes in parts (PATCH with Content-Range, each streamed from the
 * file, each to the Location the previous answer gave), and the commit (PUT ?digest=).
 */
async function uploadBlob(client: RegistryClient, store: OllamaStore, layer: Layer, options: PushOptions): Promise<void> {
  const { signal } = options;
  const what = `push ${layer.digest.slice(7, 19)}`;
  let lastReport = 0;
  const report = (completed: number, force = false) => {
    if (!force && performance.now() - lastReport < PROGRESS_EVERY_MS) return;
    lastReport = performance.now();
    options.onStatus({ status: `pushing ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.size, completed });
  };

  const head = await client.request("HEAD", client.url(`blobs/${layer.digest}`), { signal });
  // A registry may answer for a blob it has with a redirect to where its bytes are.
  if (head.ok || (head.status >= 300 && head.status < 400)) return report(layer.size, true);
  if (head.status !== 404) await client.check(head, what);

  const start = await client.check(await client.request("POST", client.url("blobs/uploads/"), { signal }), what);
  let location = uploadLocation(start, client.url("blobs/uploads/"));
  report(0, true);
  const file = Bun.file(store.blobPath(layer.digest));
  let completed = 0;
  for (const part of parts(layer.size)) {
    const bytes = file.slice(part.offset, part.offset + part.size).stream();
    const counted = bytes.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          completed += chunk.byteLength;
          report(completed);
          controller.enqueue(chunk);
        },
      }),
    );
    const headers = { "content-type": "application/octet-stream", "content-length": String(part.size), "content-range": `${part.offset}-${part.offset + part.size - 1}` };
    const response = await client.check(await client.request("PATCH", location, { headers, body: counted, signal }), what);
    location = uploadLocation(response, location);
  }

  const commit = new URL(location);
  commit.searchParams.set("digest", layer.digest);
  await client.check(await client.request("PUT", commit, { headers: { "content-type": "application/octet-stream", "content-length": "0" }, signal }), what);
  report(layer.size, true);
}

/** Where the upload goes on: Ollama reads Docker-Upload-Location, then Location, either relative to the request. */
function uploadLocation(response: Response, requestUrl: URL): URL {
  const location = response.headers.get("docker-upload-location") ?? response.headers.get("location");
  if (!location) throw new RegistryError(`the registry started an upload without saying where to send it (no Location header, status ${response.status})`, 502);
  return new URL(location, requestUrl);
}

function parts(size: number): Array<{ offset: number; size: number }> {
  const partSize = Math.min(MAX_PART, Math.max(MIN_PART, Math.floor(size / PARTS)));
  const result = [];
  for (let offset = 0; offset < size; offset += partSize) result.push({ offset, size: Math.min(partSize, size - offset) });
  return result;
}
