import { join } from "node:path";

export interface RunningServer {
  name: string;
  url: string;
  /** from spawning the process until it answered */
  startMs: number;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dir, "..", "..");

/** `hearth serve` from source on a free port, with `parallel` sequences of `ctxSize` tokens each. */
export async function startHearth(models: string, parallel: number, ctxSize: number): Promise<RunningServer> {
  const started = performance.now();
  const proc = Bun.spawn({
    cmd: [process.execPath, "run", join(ROOT, "src", "main.ts"), "serve", "--port", "0", "--models", models, "--parallel", String(parallel), "--ctx-size", String(ctxSize)],
    stdout: "pipe",
    stderr: "inherit",
  });
  const decoder = new TextDecoder();
  let out = "";
  const reader = proc.stdout.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`hearth exited before listening:\n${out}`);
    out += decoder.decode(value);
    const match = out.match(/listening on (http:\/\/\S+)/);
    if (match) {
      console.log(out.trim().split("\n")[0]);
      // Keep draining: the request log would otherwise fill the pipe and stall the server.
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return { name: "hearth", url: match[1]!, startMs: performance.now() - started, stop: () => stopProcess(proc) };
    }
  }
}

/**
 * llama.cpp's own server on the same model file: `parallel` slots of `ctxSize` tokens each (its
 * -c is the total it splits across slots), the same threads and flash attention setting as Hearth,
 * prompt caching on (its default). --no-repack: this release's repacked Q8_0 kernels die with
 * SIGILL on CPUs with AMX.
 */
export async function startLlamaServer(binary: string, modelPath: string, parallel: number, ctxSize: number, threads: number, flashAttention: boolean | "auto"): Promise<RunningServer> {
  const started = performance.now();
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = Bun.spawn({
    cmd: [binary, "-m", modelPath, "--host", "127.0.0.1", "--port", String(port), "-t", String(threads), "-tb", String(threads), "-np", String(parallel), "-c", String(parallel * ctxSize), "-fa", flashAttention === "auto" ? "auto" : flashAttention ? "on" : "off", "--no-repack", "--no-webui"],
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`llama-server exited with ${proc.exitCode}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return { name: "llama-server", url, startMs: performance.now() - started, stop: () => stopProcess(proc) };
    await Bun.sleep(200);
  }
  proc.kill();
  throw new Error("llama-server did not become healthy in 120 s");
}

async function stopProcess(proc: Bun.Subprocess): Promise<void> {
  proc.kill();
  await proc.exited;
}
