/** Large test blobs written quickly, without ever holding them in memory. */
import type { BlobRef } from "./types.ts";

const CHUNK = 4 << 20;

/**
 * Writes `bytes` pseudo-random bytes (xorshift32 from `seed`, so the same arguments give the same
 * digest) starting with the GGUF magic, and returns the digest computed on the way (about 3 s for
 * 1 GiB). Random rather than repeated data so that a client that writes a part at the wrong
 * offset gets a wrong digest, and nothing along the way can compress it.
 */
export async function bigBlobFile(path: string, bytes: number, seed = 1): Promise<BlobRef & { path: string }> {
  const writer = Bun.file(path).writer();
  const hasher = new Bun.CryptoHasher("sha256");
  const buffer = new Uint8Array(CHUNK);
  const words = new Uint32Array(buffer.buffer);
  let x = seed | 0 || 1;
  for (let offset = 0; offset < bytes; offset += CHUNK) {
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    if (offset === 0) buffer.set(new TextEncoder().encode("GGUF"));
    const chunk = buffer.subarray(0, Math.min(CHUNK, bytes - offset));
    hasher.update(chunk);
    writer.write(chunk);
    await writer.flush(); // the buffer is reused for the next chunk
  }
  await writer.end();
  return { path, size: bytes, digest: `sha256:${hasher.digest("hex")}` };
}
