/**
 * Manifests by repository and tag. The raw bytes are kept (not re-serialized) because the
 * manifest digest is the sha256 of exactly the bytes pushed. Names and tags match
 * case-insensitively, as Ollama's model names do.
 */
import { sha256Bytes } from "./blob-store.ts";

export interface StoredManifest {
  raw: string;
  digest: string;
}

export class ManifestStore {
  private readonly byTag = new Map<string, StoredManifest>();
  private readonly byDigest = new Map<string, StoredManifest>();

  put(name: string, tag: string, raw: string): string {
    const stored = { raw, digest: sha256Bytes(raw) };
    this.byTag.set(key(name, tag), stored);
    this.byDigest.set(key(name, stored.digest), stored);
    return stored.digest;
  }

  /** `reference` is a tag or a manifest digest. */
  get(name: string, reference: string): StoredManifest | undefined {
    return this.byTag.get(key(name, reference)) ?? this.byDigest.get(key(name, reference));
  }
}

function key(name: string, reference: string): string {
  return `${name}:${reference}`.toLowerCase();
}
