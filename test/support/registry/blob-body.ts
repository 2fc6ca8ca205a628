/** Byte ranges of blob files, read in chunks with the planned faults applied. */
import type { FaultPlan } from "./faults.ts";

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
  /** Whether the client asked for a range (206) or gets the whole blob (200). */
  partial: boolean;
}

/**
 * Parses a single `Range: bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything else (several ranges,
 * other units, garbage) is ignored and the whole blob served, as RFC 9110 allows; `null` means
 * unsatisfiable (416).
 */
export function parseRange(header: string | null, size: number): ByteRange | null {
  const whole = { start: 0, end: size - 1, partial: false };
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === "" && m[2] === "")) return whole;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(size - suffix, 0), end: size - 1, partial: true };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return null;
  if (end < start) return whole;
  return { start, end, partial: true };
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * Yields bytes `range.start..range.end` of the file, stopping after `plan.stopAfter` bytes and
 * inverting the byte at `plan.flipAt`. Reads through Bun.file().slice() so a large blob is
 * streamed, never loaded whole.
 */
export async function* blobChunks(path: string, range: ByteRange, plan: FaultPlan): AsyncGenerator<Uint8Array> {
  const limit = plan.stopAfter ?? Infinity;
  if (limit <= 0) return;
  let offset = range.start;
  let emitted = 0;
  for await (const read of Bun.file(path).slice(range.start, range.end + 1).stream()) {
    let chunk = emitted + read.length > limit ? read.subarray(0, limit - emitted) : read;
    const flip = plan.flipAt;
    if (flip !== undefined && flip >= offset && flip < offset + chunk.length) {
      chunk = chunk.slice();
      chunk[flip - offset]! ^= 0xff;
    }
    yield chunk;
    emitted += chunk.length;
    offset += chunk.length;
    if (emitted >= limit) return;
  }
}
