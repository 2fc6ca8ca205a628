import { createHash, type Hash } from "node:crypto";
import { readSync } from "node:fs";
import { InvalidRequestError } from "../errors.ts";
import type { Part } from "./blob-parts.ts";

/**
 * Hashes a blob in order while its parts land out of order: it reads back (from the page cache)
 * whatever has become contiguous from the start, so little is left to verify once the last byte
 * lands. A resumed download starts from byte 0 again (a hash's state is not saved).
 */
export class OrderedHasher {
  hashed = 0;
  private readonly hash: Hash = createHash("sha256");
  private readonly buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  private readonly total: number;

  constructor(
    private readonly fd: number,
    private readonly parts: Part[],
    private readonly digestOf: string,
    /** a model layer: its first bytes must be GGUF's magic */
    private readonly gguf: boolean,
  ) {
    this.total = parts.reduce((sum, p) => sum + p.size, 0);
  }

  complete(): boolean {
    return this.hashed >= this.total;
  }

  /** Hashes one slice (4 MiB at most) of what is contiguous; false when it has to wait for bytes. */
  step(): boolean {
    const end = this.contiguous();
    // The magic is looked at in the first slice: it waits for all four bytes.
    if (this.hashed >= end || (this.hashed === 0 && end < Math.min(4, this.total))) return false;
    const n = readSync(this.fd, this.buffer, 0, Math.min(this.buffer.byteLength, end - this.hashed), this.hashed);
    if (n === 0) throw new Error(`the partial file of ${this.digestOf} is shorter than its part table says`);
    if (this.hashed === 0 && this.gguf && n >= 4 && this.buffer.subarray(0, 4).toString("latin1") !== "GGUF") {
      throw new InvalidRequestError(`the model layer ${this.digestOf} is not a GGUF file: Hearth serves GGUF models only`, "model");
    }
    this.hash.update(this.buffer.subarray(0, n));
    this.hashed += n;
    return true;
  }

  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }

  /** Bytes from the start that every part before them has: the first incomplete part's completed prefix. */
  private contiguous(): number {
    let end = 0;
    for (const part of this.parts) {
      end = part.offset + part.completed;
      if (part.completed < part.size) break;
    }
    return end;
  }
}
