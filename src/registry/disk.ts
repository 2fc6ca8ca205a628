import { statfs } from "node:fs/promises";
import { RegistryError } from "./client.ts";

/** The disk cannot hold what is being written: 507, Insufficient Storage. */
export class DiskFullError extends RegistryError {
  constructor(message: string) {
    super(message, 507);
  }
}

/** Fails before the first byte when the disk cannot hold what is left to download. */
export async function checkFreeSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new DiskFullError(`not enough disk space in ${dir}: the download needs ${formatBytes(needed)} more, ${formatBytes(free)} is free`);
  }
}

/** A write that failed for want of room is a DiskFullError, which is not retried. */
export function asDiskFull(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === "ENOSPC" || code === "EDQUOT" ? new DiskFullError(`the disk is full: ${(err as Error).message}`) : err;
}

function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
