import { dlopen, FFIType } from "bun:ffi";
import { closeSync, constants, fstatSync, ftruncateSync, openSync } from "node:fs";

/**
 * A descriptor for writing one part of a partial file at its offset, and reading back how far it
 * got. Bun.write(Bun.file(fd), response) streams a response into a file natively (no JavaScript
 * per chunk) with write(2), at the descriptor's position; lseek(2), which Node's fs lacks, sets
 * that position, so several Range responses land in one file at their offsets.
 */
export interface PartWriter {
  fd: number;
  /** the absolute offset the next byte will be written at */
  position(): number;
  close(): void;
}

type Lseek = (fd: number, offset: bigint, whence: number) => bigint | number;
let lseek: Lseek | null | undefined;

/** libc's lseek, or null where it cannot be loaded (then parts are appended one after another). */
function loadLseek(): Lseek | null {
  if (lseek !== undefined) return lseek;
  const names = process.platform === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
  for (const name of names) {
    try {
      const lib = dlopen(name, { lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 } });
      return (lseek = lib.symbols.lseek as Lseek);
    } catch {
      // try the next name
    }
  }
  console.warn("hearth: lseek is not available, so pulls fetch a blob's parts one after another");
  return (lseek = null);
}

/** Whether parts can be written at their offsets concurrently. */
export function canWriteAtOffsets(): boolean {
  return loadLseek() !== null;
}

/**
 * Opens the file for writing from `offset`: positioned there, or (without lseek) appending, which
 * is only right when the file holds exactly `offset` bytes: the parts are then fetched in order.
 */
export function openPartWriter(path: string, offset: number): PartWriter {
  const seek = loadLseek();
  if (seek) {
    const fd = openSync(path, constants.O_RDWR);
    if (Number(seek(fd, BigInt(offset), 0)) !== offset) {
      closeSync(fd);
      throw new Error(`lseek to ${offset} failed`);
    }
    return { fd, position: () => Number(seek(fd, 0n, 1)), close: () => closeSync(fd) };
  }
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
  // Bytes past the saved part table are dropped: they are fetched again.
  if (fstatSync(fd).size > offset) ftruncateSync(fd, offset);
  if (fstatSync(fd).size !== offset) {
    closeSync(fd);
    throw new Error(`the partial file does not reach ${offset}`);
  }
  return { fd, position: () => fstatSync(fd).size, close: () => closeSync(fd) };
}
