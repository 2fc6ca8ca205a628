import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { CancelledError, InvalidRequestError } from "../errors.ts";
import type { OllamaStore } from "./store.ts";

/**
 * Stores an uploaded blob (Ollama's POST /api/blobs/:digest): the body is written to a temporary
 * file in the blobs folder while it is hashed, a piece at a time, and renamed to its digest only
 * when that is the digest claimed, so a blob is whole or absent. A mismatch or a client that goes
 * away mid-body leaves nothing behind. Returns false, leaving the body unread, when the blob is
 * already there.
 */
export async function receiveBlob(store: OllamaStore, digest: string, body: ReadableStream<Uint8Array> | null, signal: AbortSignal): Promise<boolean> {
  const path = store.blobPath(digest);
  if (await store.hasBlob(digest)) return false;
  await mkdir(store.blobsDir, { recursive: true });
  // Its own name per upload: two clients sending the same blob at once do not share a file.
  const temp = `${path}-${randomBytes(6).toString("hex")}-partial`;
  const file = await open(temp, "wx");
  const hash = createHash("sha256");
  try {
    try {
      for await (const chunk of body ?? []) {
        hash.update(chunk);
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
    const actual = `sha256:${hash.digest("hex")}`;
    if (actual !== digest) throw new InvalidRequestError(`digest mismatch, expected "${digest}", got "${actual}"`, "digest");
    await rename(temp, path);
    return true;
  } catch (err) {
    await rm(temp, { force: true });
    throw signal.aborted ? new CancelledError() : err;
  }
}
