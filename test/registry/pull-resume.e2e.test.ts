import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { json } from "../support/ollama-wire.ts";
import { paddedModel } from "../support/pull-fixtures.ts";
import { startFakeRegistry, type FakeRegistry } from "../support/registry/fake-registry.ts";
import { startServer, type TestServer } from "../support/server.ts";

const MiB = 1024 * 1024;
let root: string;
let registry: FakeRegistry;
let digest: string;
let size: number;
const servers: TestServer[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hearth-pull-resume-"));
  registry = await startFakeRegistry();
  const manifest = await registry.addModel("library/big", "v1", { model: await paddedModel(root, 40 * MiB) });
  digest = manifest.layers[0]!.digest;
  size = manifest.layers[0]!.size;
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  registry.reset();
});

afterAll(async () => {
  await registry?.stop();
  await rm(root, { recursive: true, force: true });
});

/** A server with a short stall timeout, so a stalled part is retried within the test. */
async function server(models: string): Promise<TestServer> {
  const started = await startServer({ models, args: ["--ctx-size", "256", "--parallel", "1"], env: { ...process.env, HEARTH_PULL_STALL_TIMEOUT: "1s" } as Record<string, string> });
  servers.push(started);
  return started;
}

/**
 * Streams a pull, calling `until` with each line; resolves with the lines once `until` says stop
 * or the stream ends. On stop the request is dropped, unless `keepOpen` (the client stays, idle).
 */
async function pullUntil(url: string, until: (line: any) => boolean = () => false, keepOpen = false): Promise<any[]> {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/pull`, { method: "POST", body: JSON.stringify({ model: `${registry.host}/library/big:v1`, insecure: true }), signal: controller.signal });
  const lines: any[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return lines;
    buffered += value;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const part of parts) {
      lines.push(JSON.parse(part));
      if (until(lines.at(-1))) {
        if (!keepOpen) controller.abort();
        return lines;
      }
    }
  }
}

const completedAtLeast = (bytes: number) => (line: any) => line.digest === digest && (line.completed ?? 0) >= bytes;

async function partials(models: string): Promise<string[]> {
  return (await readdir(join(models, "blobs")).catch(() => [])).filter((f) => f.includes("partial"));
}

describe("interrupted pulls resume", () => {
  test("a cut connection is retried from the byte it reached, within the same pull", async () => {
    const models = join(root, "cut");
    const hearth = await server(models);
    registry.faults.cutAfterBytes = 3 * MiB;
    registry.faults.cutTimes = 2;
    const lines = await pullUntil(hearth.url);
    expect(lines.at(-1)).toEqual({ status: "success" });
    expect(registry.stats.cuts).toBe(2);
    // Each retry asks for the rest of its part only: at most what was in flight when cut is sent twice.
    expect(registry.stats.served(digest)).toBeLessThan(size + 2 * 3 * MiB);
    expect(hearth.output()).toContain("retrying");
  });

  test("a client that goes away leaves the partial download, and the next pull continues from it", async () => {
    const models = join(root, "client-gone");
    const hearth = await server(models);
    registry.faults.stallAfterBytes = 6 * MiB;
    const first = await pullUntil(hearth.url, completedAtLeast(12 * MiB));
    const reached = first.at(-1).completed;
    await Bun.sleep(300);
    expect((await partials(models)).sort()).toEqual([`${digest.replace(":", "-")}-partial`, `${digest.replace(":", "-")}-partial.json`]);

    registry.reset();
    const second = await pullUntil(hearth.url);
    expect(second.at(-1)).toEqual({ status: "success" });
    // Only what the first pull had not got was served again.
    expect(registry.stats.served(digest)).toBeLessThanOrEqual(size - reached);
    expect(await partials(models)).toEqual([]);
    // The pull the client left was stopped, not failed.
    expect(hearth.output()).not.toContain("internal error");
  });

  test("a server killed with SIGKILL mid-pull: the next server continues from what reached the disk", async () => {
    const models = join(root, "killed");
    const first = await server(models);
    registry.faults.stallAfterBytes = 6 * MiB;
    // The client stays: the server is killed while it is still downloading for it.
    const lines = await pullUntil(first.url, completedAtLeast(12 * MiB), true);
    const reached = lines.at(-1).completed;
    await Bun.sleep(700); // the part table is saved every 500 ms
    await first.kill("SIGKILL");
    servers.splice(servers.indexOf(first), 1);

    registry.reset();
    const second = await server(models);
    const resumed = await pullUntil(second.url);
    expect(resumed.at(-1)).toEqual({ status: "success" });
    expect(registry.stats.served(digest)).toBeLessThanOrEqual(size - reached);
    const answer = await json(`${second.url}/api/generate`, { model: `${registry.host}/library/big:v1`, prompt: "x", stream: false, options: { temperature: 0, num_predict: 2 } });
    expect(answer.body.response).toBe("The quick");
  });

  test("a stalled part is dropped and asked for again after the stall timeout", async () => {
    const models = join(root, "stall");
    const hearth = await server(models);
    registry.faults.stallAfterBytes = 2 * MiB;
    registry.faults.stallTimes = 1;
    const lines = await pullUntil(hearth.url);
    expect(lines.at(-1)).toEqual({ status: "success" });
    expect(registry.stats.stalls).toBe(1);
    expect(hearth.output()).toContain("stalled; retrying");
  });

  test("concurrent pulls of one blob share one download, which goes on while any of them is waiting", async () => {
    const models = join(root, "shared");
    const hearth = await server(models);
    // Every part stalls once, so both pulls are surely in flight together.
    registry.faults.stallAfterBytes = 4 * MiB;
    registry.faults.stallTimes = 3;
    const a = pullUntil(hearth.url, completedAtLeast(4 * MiB));
    const b = pullUntil(hearth.url);
    const c = pullUntil(hearth.url);
    const [left, done1, done2] = await Promise.all([a, b, c]);
    expect(left.at(-1).completed).toBeGreaterThanOrEqual(4 * MiB);
    expect(done1.at(-1)).toEqual({ status: "success" });
    expect(done2.at(-1)).toEqual({ status: "success" });
    // One download: each byte served about once, not three times.
    expect(registry.stats.served(digest)).toBeLessThan(size + 13 * MiB);
    const ranges = registry.stats.requests.filter((r) => r.server === "cdn" && r.range !== null);
    // Three parts, each asked for again once after its stall (and once more if a busy machine made one look stalled).
    expect(ranges.length).toBeLessThanOrEqual(9);
  });

  // A disk that fills up while the pull runs: a small tmpfs, where this machine lets a test mount one.
  const diskDir = join(tmpdir(), `hearth-full-disk-${process.pid}`);
  const mounted = (() => {
    spawnSync("mkdir", ["-p", diskDir]);
    return spawnSync("mount", ["-t", "tmpfs", "-o", "size=56m", "tmpfs", diskDir]).status === 0;
  })();
  if (!mounted) console.warn("skipping the full-disk test: this machine cannot mount a tmpfs");

  test.skipIf(!mounted)("a disk that fills up mid-pull fails the pull at once with a 507, keeping what it had for later", async () => {
    try {
      const models = join(diskDir, "models");
      await mkdir(models, { recursive: true });
      const hearth = await server(models);
      registry.faults.stallAfterBytes = 4 * MiB;
      const first = pullUntil(hearth.url);
      // The free-space check passed; now something else takes the room the pull counted on.
      await Bun.sleep(300);
      await writeFile(join(diskDir, "filler"), Buffer.alloc(40 * MiB));
      registry.faults.stallAfterBytes = undefined;
      const lines = await first;
      expect(lines.at(-1).error).toContain("disk is full");
      expect(hearth.output()).not.toMatch(/part at \d+ failed/);
      expect((await partials(models)).length).toBeGreaterThan(0);

      await rm(join(diskDir, "filler"));
      registry.reset();
      const second = await pullUntil(hearth.url);
      expect(second.at(-1)).toEqual({ status: "success" });
      expect(registry.stats.served(digest)).toBeLessThan(size);
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
      spawnSync("umount", [diskDir]);
      await rm(diskDir, { recursive: true, force: true });
    }
  });
});
