import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureModel } from "../../scripts/gen-model.ts";
import { startFakeRegistry, type FakeRegistry } from "../support/registry/fake-registry.ts";
import { SOURCE_CLI, startServer, type TestServer } from "../support/server.ts";

// pull, create, push and run as a user types them: the CLI as a child process, against a real
// server, which pulls from and pushes to the fake registry.

let root: string;
let registry: FakeRegistry;
let server: TestServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hearth-cli-registry-"));
  registry = await startFakeRegistry();
  await registry.addModel("library/fox", "v1", { model: await ensureModel("text"), params: { num_predict: 4, temperature: 0 }, system: "You are a fox." });
  server = await startServer({ models: join(root, "models"), args: ["--ctx-size", "256", "--parallel", "1"] });
});

afterAll(async () => {
  await server?.stop();
  await registry?.stop();
  await rm(root, { recursive: true, force: true });
});

async function hearth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, HEARTH_HOST: server.url };
  delete env.HEARTH_PORT;
  const proc = Bun.spawn({ cmd: [...SOURCE_CLI, ...args], env, cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("hearth pull, create, push and run against a registry", () => {
  test("pull shows Ollama's progress as plain lines off a terminal; the model is then listed and answers", async () => {
    const name = `${registry.host}/library/fox:v1`;
    const pulled = await hearth("pull", "--insecure", name);
    expect(pulled.code).toBe(0);
    expect(pulled.stderr).toContain("pulling manifest");
    expect(pulled.stderr).toMatch(/pulling [0-9a-f]{12}/);
    expect(pulled.stderr).toContain("verifying sha256 digest");
    expect(pulled.stderr).toContain("success");
    const list = await hearth("list");
    expect(list.stdout).toContain(name);
    const run = await hearth("run", name, "hi");
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("The quick brown fox");
    const system = await hearth("show", name, "--system");
    expect(system.stdout.trim()).toBe("You are a fox.");
  });

  test("an unknown tag exits non-zero with Ollama's message", async () => {
    const result = await hearth("pull", "--insecure", `${registry.host}/library/fox:nope`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Error: pull model manifest: file does not exist");
  });

  test("plain http without --insecure is refused with the server's message", async () => {
    const result = await hearth("pull", `http://${registry.host}/library/fox:v1`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("insecure");
  });

  test("create from a Modelfile beside a GGUF file, then push it to the registry byte for byte", async () => {
    await symlink(await ensureModel("text"), join(root, "weights.gguf"));
    await writeFile(join(root, "Modelfile"), 'FROM ./weights.gguf\nSYSTEM """You are terse."""\nPARAMETER num_predict 2\nPARAMETER stop "zzz"\n');
    const name = `${registry.host}/me/terse:v1`;
    const created = await hearth("create", name, "-f", join(root, "Modelfile"));
    expect(created.code).toBe(0);
    expect(created.stderr).toContain("success");
    const answer = await hearth("run", name, "hi");
    expect(answer.stdout.trim()).toBe("The quick");

    const pushed = await hearth("push", "--insecure", name);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain("pushing manifest");
    const manifest = registry.manifest("me/terse", "v1")!;
    expect(manifest.layers.map((l) => l.mediaType)).toContain("application/vnd.ollama.image.system");
    for (const layer of [...manifest.layers, manifest.config]) expect(registry.hasBlob(layer.digest)).toBe(true);

    // The round trip: delete it here, pull it back from the registry, and it answers the same.
    expect((await hearth("rm", name)).code).toBe(0);
    expect((await hearth("pull", "--insecure", name)).code).toBe(0);
    expect((await hearth("run", name, "hi")).stdout.trim()).toBe("The quick");
  });
});
