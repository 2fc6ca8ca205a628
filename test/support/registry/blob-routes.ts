/** GET|HEAD /v2/<name>/blobs/<digest>: a 307 to the CDN, or (redirectBlobs: false) the bytes. */
import { blobChunks, contentRange, parseRange, type ByteRange } from "./blob-body.ts";
import { signedBlobUrl } from "./cdn.ts";
import { blobUnknown, RegistryError } from "./errors.ts";
import { takeFaultPlan, type FaultPlan } from "./faults.ts";
import { untilAborted, type RegistryState } from "./state.ts";

/**
 * Bun resets the connection as soon as a body stream errors, throwing away what it still had
 * buffered for the socket; waiting this long first lets the bytes before a cut reach the client
 * on loopback. Best effort only: the CDN (raw TCP) is the byte-exact place for cut tests.
 */
const CUT_SETTLE_MS = 100;

export function blobResponse(req: Request, state: RegistryState, digest: string): Response {
  const blob = state.store.get(digest);
  if (req.method === "HEAD") {
    if (!blob) return new Response(null, { status: 404 });
    return new Response(null, {
      headers: {
        "Content-Length": String(blob.size),
        "Content-Type": "application/octet-stream",
        "Docker-Content-Digest": digest,
        "Accept-Ranges": "bytes",
      },
    });
  }
  if (req.method !== "GET") throw new RegistryError(405, "UNSUPPORTED", `${req.method} not supported on blobs`);
  if (!blob) throw blobUnknown(digest);
  if (state.settings.redirectBlobs) {
    return new Response(null, { status: 307, headers: { Location: signedBlobUrl(state, digest), "Docker-Content-Digest": digest } });
  }

  const range = parseRange(req.headers.get("range"), blob.size);
  if (!range) return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${blob.size}` } });
  const plan = takeFaultPlan(state.faults, state.stats, digest, range.start, range.end);
  // Bun.serve sends a streamed body chunked, dropping any Content-Length (oven-sh/bun#10507);
  // a stream is still used so that every byte is counted and faults can be injected.
  return new Response(bodyStream(req, state, blob.path, digest, range, plan), {
    status: range.partial ? 206 : 200,
    headers: {
      "Content-Type": "application/octet-stream",
      "Docker-Content-Digest": digest,
      "Accept-Ranges": "bytes",
      ...(range.partial ? { "Content-Range": contentRange(range, blob.size) } : {}),
    },
  });
}

function bodyStream(req: Request, state: RegistryState, path: string, digest: string, range: ByteRange, plan: FaultPlan) {
  const chunks = blobChunks(path, range, plan);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (!next.done) {
        state.stats.addServed(digest, next.value.length);
        controller.enqueue(next.value);
      } else if (plan.onStop === "cut") {
        await Bun.sleep(CUT_SETTLE_MS);
        // An `undefined` reason: Bun resets the connection without logging an error.
        controller.error(undefined);
      } else if (plan.onStop === "stall") {
        await untilAborted(req.signal, state.stopping);
        controller.error(undefined);
      } else {
        controller.close();
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
