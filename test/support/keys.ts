import { expect } from "bun:test";
import { spawnSync } from "bun";
import OpenAI from "openai";
import { SOURCE_CLI } from "./server.ts";

/** `hearth keys …` on a data directory, as an operator runs it (beside a running server or not). */
export function hearthKeys(dataDir: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync({ cmd: [...SOURCE_CLI, "keys", ...args, "--data-dir", dataDir], stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString().trim(), stderr: result.stderr.toString() };
}

/** A new key in the data directory: the secret `hearth keys create` prints. */
export function createKey(dataDir: string, name: string, ...flags: string[]): string {
  const { code, stdout, stderr } = hearthKeys(dataDir, "create", "--name", name, ...flags);
  expect(code, stderr).toBe(0);
  return stdout;
}

/** The HTTP status an `openai` SDK call ended with: 200 when it resolved. */
export function sdkStatus(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 200,
    (err: unknown) => (err instanceof OpenAI.APIError ? (err.status ?? 0) : -1),
  );
}
