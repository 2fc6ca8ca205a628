import { createHash, timingSafeEqual } from "node:crypto";
import { SCOPES, type Principal } from "./principal.ts";

/**
 * Keys given to the server rather than created by it (--api-key-file, HEARTH_API_KEY), as
 * llama.cpp's --api-key: the operator's own, so each has every scope and acts as a service key.
 * Each is known by a digest prefix, never by itself, in logs and as the owner of what it stores.
 */
export class StaticKeys {
  private readonly digests: { digest: Buffer; principal: Principal }[];

  constructor(keys: readonly string[]) {
    this.digests = [...new Set(keys)].map((key) => {
      const digest = sha256(key);
      return { digest, principal: { kind: "key", id: `static-${digest.toString("hex").slice(0, 12)}`, scopes: new Set(SCOPES) } };
    });
  }

  get size(): number {
    return this.digests.length;
  }

  /** Every key is compared, each in constant time, so the time taken tells nothing of which matched. */
  verify(credential: string): Principal | undefined {
    const presented = sha256(credential);
    let found: Principal | undefined;
    for (const { digest, principal } of this.digests) if (timingSafeEqual(digest, presented)) found = principal;
    return found;
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A key file's keys: one per line; blank lines and `#` comments skipped. */
export function parseKeyFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}
