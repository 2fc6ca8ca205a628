/** GET|HEAD|PUT /v2/<name>/manifests/<reference>. */
import { manifestUnknown, RegistryError } from "./errors.ts";
import { isMissingTag } from "./faults.ts";
import type { RegistryState } from "./state.ts";
import { MANIFEST_MEDIA_TYPE, type Manifest } from "./types.ts";

export async function manifestResponse(req: Request, state: RegistryState, name: string, reference: string): Promise<Response> {
  if (req.method === "PUT") return putManifest(req, state, name, reference);
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new RegistryError(405, "UNSUPPORTED", `${req.method} not supported on manifests`);
  }
  const stored = isMissingTag(state.faults, name, reference) ? undefined : state.manifests.get(name, reference);
  if (!stored) throw manifestUnknown();
  return new Response(req.method === "HEAD" ? null : stored.raw, {
    headers: {
      "Content-Type": MANIFEST_MEDIA_TYPE,
      "Content-Length": String(Buffer.byteLength(stored.raw)),
      "Docker-Content-Digest": stored.digest,
    },
  });
}

/** Stores a pushed manifest once every blob it names is present with the size it states. */
async function putManifest(req: Request, state: RegistryState, name: string, tag: string): Promise<Response> {
  const raw = await req.text();
  let manifest: Manifest;
  try {
    manifest = JSON.parse(raw);
  } catch {
    throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid: not JSON");
  }
  if (!manifest?.config?.digest || !Array.isArray(manifest.layers)) {
    throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid: config or layers missing");
  }
  for (const ref of [manifest.config, ...manifest.layers]) {
    const blob = state.store.get(ref.digest);
    if (!blob) throw new RegistryError(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", { digest: ref.digest });
    if (blob.size !== ref.size) {
      throw new RegistryError(400, "MANIFEST_INVALID", `blob ${ref.digest} has ${blob.size} bytes, manifest says ${ref.size}`);
    }
  }
  const digest = state.manifests.put(name, tag, raw);
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${name}/manifests/${digest}`, "Docker-Content-Digest": digest },
  });
}
