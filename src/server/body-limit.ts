/** Requests larger than this are refused with a 413 in the API's error shape; streamed uploads are exempt. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** POST /api/blobs/:digest: a model's weights (often gigabytes), streamed to disk as they arrive. */
export function isBlobUpload(request: Request): boolean {
  return request.method === "POST" && new URL(request.url).pathname.startsWith("/api/blobs/");
}

/** Uploads whose routes stream the body to disk themselves, within their own size limits: Ollama's blobs and OpenAI's files (POST /v1/files). */
export function isStreamedUpload(request: Request): boolean {
  return isBlobUpload(request) || (request.method === "POST" && new URL(request.url).pathname === "/v1/files");
}

/**
 * The size of a body over MAX_BODY_BYTES, or undefined when it fits. A declared Content-Length is taken
 * at its word (nothing past it is read); a chunked body is counted on a clone, which leaves the
 * bytes for the route to parse. Past the limit the rest is read and dropped rather than left
 * unread: clients such as Bun's fetch only look at the answer once they have sent everything, so
 * they would hang on a 413 sent mid-body.
 */
export async function oversizeBody(request: Request): Promise<number | undefined> {
  const limit = MAX_BODY_BYTES;
  const declared = request.headers.get("content-length");
  if (declared !== null) return Number(declared) > limit ? Number(declared) : undefined;
  if (!request.body) return undefined;
  const reader = request.clone().body!.getReader();
  let size = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    // The route will never read the original: released, it stops keeping a copy of what the clone reads.
    if (size <= limit && size + next.value.byteLength > limit) void request.body.cancel().catch(() => {});
    size += next.value.byteLength;
  }
  return size > limit ? size : undefined;
}
