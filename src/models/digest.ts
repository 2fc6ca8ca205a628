import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

interface Entry {
  size: number;
  mtimeMs: number;
  digest: Promise<string>;
}

/**
 * SHA-256 of model files (hex), what Ollama reports as a model's digest. Hashing a 600 MB file
 * takes seconds, so each file version (path, size, mtime) is hashed once; concurrent callers
 * share the hashing in progress.
 */
export class FileDigests {
  private cache = new Map<string, Entry>();

  digest(path: string, size: number, mtimeMs: number): Promise<string> {
    const cached = this.cache.get(path);
    if (cached && cached.size === size && cached.mtimeMs === mtimeMs) return cached.digest;
    const digest = sha256(path);
    const entry = { size, mtimeMs, digest };
    this.cache.set(path, entry);
    // A file that vanished or could not be read is hashed again next time.
    digest.catch(() => {
      if (this.cache.get(path) === entry) this.cache.delete(path);
    });
    return digest;
  }
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
