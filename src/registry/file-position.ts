import { dlopen, FFIType } from "bun:ffi";

/**
 * lseek(2), which Node's fs does not offer. Bun.write(Bun.file(fd), response) streams a response
 * into the file natively (no JavaScript per chunk) with write(2), at the descriptor's position:
 * setting the position lets several Range responses land in one file at their offsets, and
 * reading it back tells how far each has got.
 */
const libc = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
  lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
});
const SEEK_SET = 0;
const SEEK_CUR = 1;

export function seek(fd: number, position: number): void {
  const at = Number(libc.symbols.lseek(fd, BigInt(position), SEEK_SET));
  if (at !== position) throw new Error(`lseek to ${position} failed`);
}

export function position(fd: number): number {
  return Number(libc.symbols.lseek(fd, 0n, SEEK_CUR));
}
