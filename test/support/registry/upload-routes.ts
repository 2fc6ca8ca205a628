/**
 * POST /v2/<name>/blobs/uploads/ (start, cross-repository mount or monolithic), then
 * PATCH <Location> per chunk and PUT <Location>&digest=... to commit, as Ollama's
 * server/upload.go drives them.
 */
import { RegistryError } from "./errors.ts";
import type { RegistryState } from "./state.ts";
import { rangeHeader } from "./uploads.ts";

export async function uploadResponse(req: Request, url: URL, state: RegistryState, name: string, uuid: string): Promise<Response> {
  const body = req.body;
  const stateParam = url.searchParams.get("_state");
  if (req.method === "POST" && uuid === "") {
    const mount = url.searchParams.get("mount");
    if (mount && state.store.get(mount)) return created(name, mount);
    const started = await state.uploads.create(name);
    const digest = url.searchParams.get("digest");
    if (digest !== null) {
      const blob = await state.uploads.finish(name, started.uuid, started.state, digest, body);
      return created(name, blob.digest);
    }
    return accepted(state, name, started.uuid, started.state, 0);
  }
  if (req.method === "PATCH" && uuid !== "") {
    const stored = await state.uploads.patch(name, uuid, stateParam, req.headers.get("content-range"), body);
    return accepted(state, name, uuid, stored.state, stored.size);
  }
  if (req.method === "PUT" && uuid !== "") {
    const blob = await state.uploads.finish(name, uuid, stateParam, url.searchParams.get("digest"), body);
    return created(name, blob.digest);
  }
  throw new RegistryError(405, "UNSUPPORTED", `${req.method} not supported on uploads`);
}

/** 202 with where to send the next chunk; Ollama reads `Docker-Upload-Location`, then `Location`. */
function accepted(state: RegistryState, name: string, uuid: string, uploadState: string, size: number): Response {
  const path = `/v2/${name}/blobs/uploads/${uuid}?_state=${encodeURIComponent(uploadState)}`;
  return new Response(null, {
    status: 202,
    headers: {
      Location: state.settings.uploadLocation === "absolute" ? state.url + path : path,
      "Docker-Upload-UUID": uuid,
      ...rangeHeader(size),
    },
  });
}

function created(name: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest },
  });
}
