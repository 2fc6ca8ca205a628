import { Elysia, t } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { receiveBlob } from "../../models/blob-upload.ts";
import { checkDigest } from "../../models/store.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OllamaError } from "./errors.ts";

const Params = t.Object({ digest: t.String({ description: '"sha256:" and 64 lowercase hex digits (Ollama\'s file spelling "sha256-…" too)' }) });

const error = (description: string) => ({ description, content: { "application/json": { schema: OllamaError } } });

/**
 * Ollama's blob uploads, the first step of creating a model from a local GGUF file: a client asks
 * whether the server has the file's digest, sends the file when it has not, then names the digest
 * in POST /api/create's `files`. Blobs land in Hearth's own store inside the models folder.
 */
export function blobsRoutes(engine: Engine) {
  const store = engine.catalog.store;
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-blobs", detail: { tags: ["Ollama"] } })
    .head("/api/blobs/:digest", async ({ params }) => new Response(null, { status: (await store.hasBlob(checkDigest(params.digest))) ? 200 : 404 }), {
      params: Params,
      detail: {
        summary: "Check whether a blob exists",
        description: "200 when the models folder's store holds the blob, 404 when not, 400 for a malformed digest. No body.",
        responses: { 200: { description: "The blob is there" }, 400: { description: "A malformed digest" }, 404: { description: "No such blob" } },
      },
    })
    .post(
      "/api/blobs/:digest",
      async ({ params, request }) => {
        const created = await receiveBlob(store, checkDigest(params.digest), request.body, request.signal);
        return new Response(null, { status: created ? 201 : 200 });
      },
      {
        // The body is the file itself, streamed to disk as it arrives: never parsed, never held whole.
        parse: "none",
        params: Params,
        detail: {
          summary: "Upload a blob",
          requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
          description:
            "The body is the file's bytes, of any size (the 32 MiB limit of other requests does not apply). They are written to a temporary file while hashed and kept under their digest only when it matches the one in the path; " +
            "a mismatch, or a client that disconnects, leaves nothing behind.",
          responses: {
            200: { description: "The blob was already there (the body is not read)" },
            201: { description: "Stored" },
            400: error("A malformed digest, or the body's SHA-256 is not the digest named"),
          },
        },
      },
    );
}
