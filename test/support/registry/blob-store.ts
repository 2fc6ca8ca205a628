/** Content-addressed blobs on disk: bytes are written to the registry's temp dir, files are served in place. */
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { BlobRef, BlobSource } from "./types.ts";

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function sha256Bytes(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** Streams the file through the hash, so a 1 GiB blob never sits in memory. */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return `sha256:${hasher.digest("hex")}`;
}

export interface StoredBlob extends BlobRef {
  path: string;
}

export class BlobStore {
  private readonly blobs = new Map<string, StoredBlob>();
  private readonly blobDir: string;

  constructor(dir: string) {
    this.blobDir = join(dir, "blobs");
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
  }

  async add(source: BlobSource): Promise<BlobRef> {
    if (typeof source === "string" || source instanceof Uint8Array) {
      const digest = sha256Bytes(source);
      const path = this.pathFor(digest);
      const size = await Bun.write(path, source);
      return this.register({ digest, size, path });
    }
    const digest = source.digest ?? (await sha256File(source.path));
    return this.register({ digest, size: (await stat(source.path)).size, path: source.path });
  }

  /** Moves a finished upload into the store under its (already verified) digest. */
  async adopt(tempPath: string, digest: string): Promise<BlobRef> {
    const path = this.pathFor(digest);
    await rename(tempPath, path);
    return this.register({ digest, size: (await stat(path)).size, path });
  }

  get(digest: string): StoredBlob | undefined {
    return this.blobs.get(digest);
  }

  /** Forgets a blob (a file it owns is deleted; one added by path is left alone). */
  async remove(digest: string): Promise<void> {
    const blob = this.blobs.get(digest);
    this.blobs.delete(digest);
    if (blob?.path === this.pathFor(digest)) await rm(blob.path, { force: true });
  }

  private pathFor(digest: string): string {
    return join(this.blobDir, digest.replace(":", "-"));
  }

  private register(blob: StoredBlob): BlobRef {
    this.blobs.set(blob.digest, blob);
    return { digest: blob.digest, size: blob.size };
  }
}
