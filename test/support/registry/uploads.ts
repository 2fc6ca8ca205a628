/**
 * Blob upload sessions (POST, PATCH..., PUT ?digest=). Chunks are streamed to a temp file at the
 * offset their Content-Range names, so a client may re-send a failed chunk; the session's `_state`
 * changes with every stored chunk, as in Docker's distribution, so a client that keeps using an
 * old Location instead of the last one it was given is caught.
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { BlobStore, DIGEST_PATTERN, sha256File } from "./blob-store.ts";
import { RegistryError, digestInvalid, uploadUnknown } from "./errors.ts";
import type { Stats } from "./faults.ts";
import type { BlobRef } from "./types.ts";

interface Session {
  name: string;
  path: string;
  size: number;
  state: string;
}

export class Uploads {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly dir: string,
    private readonly store: BlobStore,
    private readonly stats: Stats,
  ) {}

  async create(name: string): Promise<{ uuid: string; state: string }> {
    const uuid = crypto.randomUUID();
    const session = { name, path: join(this.dir, `upload-${uuid}`), size: 0, state: randomState() };
    await Bun.write(session.path, "");
    this.sessions.set(uuid, session);
    return { uuid, state: session.state };
  }

  /** Stores one chunk; `contentRange` is Ollama's `a-b` (or `bytes a-b`); absent means "append". */
  async patch(name: string, uuid: string, state: string | null, contentRange: string | null, body: ReadableStream<Uint8Array> | null) {
    const session = this.session(name, uuid, state);
    let start = session.size;
    let expected: number | undefined;
    if (contentRange) {
      const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(contentRange.trim());
      if (!m) throw new RegistryError(400, "BLOB_UPLOAD_INVALID", `bad Content-Range ${contentRange}`);
      start = Number(m[1]);
      expected = Number(m[2]) - start + 1;
      // A chunk may rewrite the tail (a retry), never leave a hole.
      if (start > session.size || expected < 0) {
        throw new RegistryError(416, "BLOB_UPLOAD_INVALID", `chunk starts at ${start}, upload has ${session.size} bytes`, undefined, rangeHeader(session.size));
      }
    }
    const written = await this.writeAt(session, start, body);
    if (expected !== undefined && written !== expected) {
      await truncate(session.path, start);
      session.size = start;
      throw new RegistryError(400, "BLOB_UPLOAD_INVALID", `Content-Range names ${expected} bytes, body had ${written}`);
    }
    session.size = start + written;
    session.state = randomState();
    return { size: session.size, state: session.state };
  }

  /** Appends the optional last chunk, checks the digest and moves the blob into the store. */
  async finish(name: string, uuid: string, state: string | null, digest: string | null, body: ReadableStream<Uint8Array> | null): Promise<BlobRef> {
    const session = this.session(name, uuid, state);
    if (!digest || !DIGEST_PATTERN.test(digest)) throw digestInvalid(`invalid digest ${digest}`);
    session.size += await this.writeAt(session, session.size, body);
    this.sessions.delete(uuid);
    if ((await sha256File(session.path)) !== digest) {
      await rm(session.path, { force: true });
      throw digestInvalid();
    }
    return this.store.adopt(session.path, digest);
  }

  private session(name: string, uuid: string, state: string | null): Session {
    const session = this.sessions.get(uuid);
    if (!session || session.name !== name) throw uploadUnknown();
    if (state !== session.state) throw new RegistryError(400, "BLOB_UPLOAD_INVALID", "missing or stale _state: use the last Location returned");
    return session;
  }

  /** Streams the body into the file at `start`; on a broken body the file is put back as it was. */
  private async writeAt(session: Session, start: number, body: ReadableStream<Uint8Array> | null): Promise<number> {
    const file = await open(session.path, "r+");
    let written = 0;
    try {
      await file.truncate(start);
      if (body) {
        for await (const chunk of body) {
          await file.write(chunk, 0, chunk.length, start + written);
          written += chunk.length;
        }
      }
    } catch (error) {
      await file.truncate(start);
      throw error;
    } finally {
      await file.close();
    }
    this.stats.bytesReceived += written;
    return written;
  }
}

/** Docker's `Range: 0-<last byte>` progress header. */
export function rangeHeader(size: number): Record<string, string> {
  return { Range: `0-${Math.max(size - 1, 0)}` };
}

async function truncate(path: string, size: number): Promise<void> {
  const file = await open(path, "r+");
  try {
    await file.truncate(size);
  } finally {
    await file.close();
  }
}

function randomState(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
}
