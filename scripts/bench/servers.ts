import { join } from "node:path";

export interface RunningServer {
  name: string;
  url: string;
  /** from spawning the process until it answered */
  startMs: number;
  /** how it was started, for the report */
  note: string;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dir, "..", "..");

/**
 * `hearth serve` from source on a free port, with `parallel` sequences of `ctxSize` tokens each.
 * The model never unloads, as llama-server's never does: with the default keep-alive of 5 minutes
 * it would unload while the other sides are measured, and the next run's first prompt would pay
 * for loading it again (on these VMs, 15 s of first-touch page faults for four sequences' KV cache).
 */
export async function startHearth(name: string, models: string, parallel: number, ctxSize: number, extraArgs: string[] = []): Promise<RunningServer> {
  const started = performance.now();
  const args = ["--parallel", String(parallel), "--ctx-size", String(ctxSize), "--keep-alive=-1", ...extraArgs];
  const proc = Bun.spawn({
    cmd: [process.execPath, "run", join(ROOT, "src", "main.ts"), "serve", "--port", "0", "--models", models, ...args],
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
      const banner = out.trim().split("\n")[0]!;
      console.log(banner);
      // Keep draining: the request log would otherwise fill the pipe and stall the server.
      void (async () => {
        while (!(await reader.read()).done);
      })();
      const backend = banner.match(/backend (.*?) \|/)?.[1] ?? "";
      return { name, url: match[1]!, startMs: performance.now() - started, note: `${args.join(" ")}; ${backend}`, stop: () => stopProcess(proc) };
    }
  }
}

/**
 * llama.cpp's own server on the same model file, run with its defaults as a user would: its
 * automatic slot count (4, sharing one unified KV cache of `ctxSize` cells), batches of 2,048 in
 * micro-batches of 512, flash attention "auto", weight repacking on. Only the threads are set,
 * to the same count as Hearth's. Repacking is turned off only where it has to be: some releases
 * die with SIGILL in the AMX Q8_0 kernels they repack for, so a server that crashes on its first
 * request is restarted once with --no-repack.
 */
export async function startLlamaServer(binary: string, modelPath: string, ctxSize: number, threads: number): Promise<RunningServer> {
  const base = ["-m", modelPath, "--host", "127.0.0.1", "-t", String(threads), "-c", String(ctxSize), "--no-webui"];
  const started = performance.now();
  const server = await spawnLlamaServer(binary, base);
  if (await survivesFirstRequest(server)) return { ...server, startMs: performance.now() - started, note: `${base.slice(4).join(" ")} (its defaults otherwise)` };
  await server.stop();
  console.warn("llama-server crashed on its first request with weight repacking on; restarting it with --no-repack");
  const restarted = await spawnLlamaServer(binary, [...base, "--no-repack"]);
  if (!(await survivesFirstRequest(restarted))) throw new Error("llama-server crashes on its first request even with --no-repack");
  return { ...restarted, startMs: performance.now() - started, note: `${base.slice(4).join(" ")} --no-repack (it crashed with repacking on)` };
}

async function spawnLlamaServer(binary: string, args: string[]): Promise<RunningServer & { proc: Bun.Subprocess }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = Bun.spawn({ cmd: [binary, ...args, "--port", String(port)], stdout: "ignore", stderr: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`llama-server exited (${proc.signalCode ?? proc.exitCode}) before it was healthy`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return { name: "llama-server", url, startMs: 0, note: "", proc, stop: () => stopProcess(proc) };
    await Bun.sleep(200);
  }
  proc.kill();
  throw new Error("llama-server did not become healthy in 120 s");
}

async function survivesFirstRequest(server: RunningServer & { proc: Bun.Subprocess }): Promise<boolean> {
  const answered = await fetch(`${server.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "Hello there, how are you", max_tokens: 2 }),
  }).then((r) => r.ok, () => false);
  await Bun.sleep(100);
  return answered && server.proc.exitCode === null && server.proc.signalCode === null;
}

async function stopProcess(proc: Bun.Subprocess): Promise<void> {
  proc.kill();
  await proc.exited;
}
