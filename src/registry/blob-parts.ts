import { readFile, rm, writeFile } from "node:fs/promises";

/** Ollama's split: up to 16 parts fetched in parallel, each between these sizes. */
const PARTS = 16;
const MIN_PART = 16 * 1024 * 1024;
const MAX_PART = 1000 * 1000 * 1000;

export interface Part {
  offset: number;
  size: number;
  /** bytes of the part written, from its offset */
  completed: number;
}

/**
 * Where a blob's download keeps its bytes until the whole is verified: one file written at each
 * part's offset (`<blob>-partial`) and the part table beside it (`<blob>-partial.json`), saved as
 * the bytes land, so a download stopped in any way (a SIGKILL included) resumes from them.
 */
export class PartialFiles {
  readonly data: string;
  readonly table: string;

  constructor(
    blobPath: string,
    readonly digest: string,
    readonly size: number,
  ) {
    this.data = `${blobPath}-partial`;
    this.table = `${blobPath}-partial.json`;
  }

  /** The parts an earlier download of this blob left, else new ones. */
  async parts(): Promise<Part[]> {
    try {
      const saved = JSON.parse(await readFile(this.table, "utf8")) as { digest: string; size: number; parts: Part[] };
      const sound =
        saved.digest === this.digest &&
        saved.size === this.size &&
        Array.isArray(saved.parts) &&
        saved.parts.every((p) => [p.offset, p.size, p.completed].every(Number.isSafeInteger) && p.completed >= 0 && p.completed <= p.size) &&
        saved.parts.reduce((sum, p) => sum + p.size, 0) === this.size;
      if (sound) return saved.parts;
    } catch {
      // none, or not one of ours: start afresh
    }
    return split(this.size);
  }

  /** Saved after the bytes it counts were written, so it never claims more than the file holds. */
  save(parts: Part[]): Promise<void> {
    return writeFile(this.table, JSON.stringify({ digest: this.digest, size: this.size, parts }));
  }

  async removeAll(): Promise<void> {
    await Promise.all([rm(this.data, { force: true }), rm(this.table, { force: true })]);
  }
}

function split(total: number): Part[] {
  const size = Math.min(MAX_PART, Math.max(MIN_PART, Math.ceil(total / PARTS)));
  const parts: Part[] = [];
  for (let offset = 0; offset < total; offset += size) parts.push({ offset, size: Math.min(size, total - offset), completed: 0 });
  return parts.length > 0 ? parts : [{ offset: 0, size: 0, completed: 0 }];
}
