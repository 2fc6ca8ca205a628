import { spawn } from "bun";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/** `hearth` run from source; the single-executable tests pass the compiled binary instead. */
export const SOURCE_CLI = [process.execPath, "run", join(ROOT, "src", "main.ts")];

export interface TestServer {
  url: string;
  pid: number;
  output: () => string;
  stop(): Promise<void>;
  /** ends the process with this signal (SIGKILL: no chance to clean up) and waits for it; resolves with its exit code */
  kill(signal: NodeJS.Signals): Promise<number>;
}

/** Starts `hearth serve` as a child process on a free port and waits for its listening line. */
export async function startServer(options: {
  models: string;
  args?: string[];
  env?: Record<string, string>;
  cli?: string[];
  cwd?: string;
}): Promise<TestServer> {
  const proc = spawn({
    cmd: [...(options.cli ?? SOURCE_CLI), "serve", "--port", "0", "--models", options.models, ...(options.args ?? [])],
    cwd: options.cwd ?? ROOT,
    // Each server its own store, unless the test names one: none writes to the user's data directory.
    env: { HEARTH_DATA_DIR: mkdtempSync(join(tmpdir(), "hearth-data-")), ...(options.env ?? process.env) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let log = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) log += decoder.decode(chunk);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const match = log.match(/listening on (http:\/\/\S+)/);
    if (match) {
      return {
        url: match[1]!,
        pid: proc.pid,
        output: () => log,
        async stop() {
          proc.kill("SIGTERM");
          await proc.exited;
        },
        async kill(signal) {
          proc.kill(signal);
          return proc.exited;
        },
      };
    }
    if (proc.exitCode !== null) break;
    await Bun.sleep(50);
  }
  proc.kill();
  throw new Error(`server did not start:\n${log}`);
}
