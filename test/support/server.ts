import { spawn, type Subprocess } from "bun";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

export interface TestServer {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the real CLI (`hearth serve`) as a child process on a free port and waits for its listening line. */
export async function startServer(options: { models: string; args?: string[]; env?: Record<string, string> }): Promise<TestServer> {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = spawn({
    cmd: [process.execPath, "run", join(ROOT, "src", "main.ts"), "serve", "--port", "0", "--models", options.models, ...(options.args ?? [])],
    cwd: ROOT,
    env: { ...process.env, ...options.env },
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
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = log.match(/listening on (http:\/\/\S+)/);
    if (match) {
      return {
        url: match[1]!,
        output: () => log,
        async stop() {
          proc.kill("SIGTERM");
          await proc.exited;
        },
      };
    }
    if (proc.exitCode !== null) break;
    await Bun.sleep(50);
  }
  proc.kill();
  throw new Error(`server did not start:\n${log}`);
}
