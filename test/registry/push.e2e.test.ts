import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import { ensureModel } from "../../scripts/gen-model.ts";
import { json, ndjson } from "../support/ollama-wire.ts";
import { paddedModel } from "../support/pull-fixtures.ts";
import { startFakeRegistry, type FakeRegistry, type Manifest } from "../support/registry/fake-registry.ts";
import { startServer, type TestServer } from "../support/server.ts";

let root: string;
let models: string;
let registry: FakeRegistry;
let server: TestServer;
let ollama: Ollama;

const MiB = 1024 * 1024;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hearth-push-"));
  models = join(root, "models");
  await mkdir(models);
  await symlink(await ensureModel("text"), join(models, "text.gguf"));
  // Past 32 MiB, so that it goes in several 16 MiB parts.
  await symlink(await paddedModel(root, 40 * MiB), join(models, "big.gguf"));
  registry = await startFakeRegistry();
  server = await startServer({ models, args: ["--ctx-size", "256", "--parallel", "1", "--ollama-models", "off"] });
  ollama = new Ollama({ host: server.url });
});

afterAll(async () => {
  await server?.stop();
  await registry?.stop();
  await rm(root, { recursive: true, force: true });
});

const push = (body: Record<string, unknown>) => ndjson(`${server.url}/api/push`, body);
const localManifest = (repository: string, tag: string) => readFile(join(models, "manifests", registry.host, ...repository.split("/"), tag), "utf8");
const localBlob = (digest: string) => readFile(join(models, "blobs", digest.replace(":", "-")));

async function createModel(body: Record<string, unknown>): Promise<void> {
  const res = await json(`${server.url}/api/create`, { ...body, stream: false });
  expect(res).toEqual({ status: 200, body: { status: "success" } });
}

/** The registry holds the manifest and every blob exactly as Hearth stores them. */
async function expectLanded(repository: string, tag: string): Promise<Manifest> {
  const raw = registry.rawManifest(repository, tag);
  expect(raw).toBe(await localManifest(repository, tag));
  const manifest = JSON.parse(raw!) as Manifest;
  for (const layer of [...manifest.layers, manifest.config]) {
    const pushed = await readFile(registry.blobPath(layer.digest)!);
    expect(Buffer.compare(pushed, await localBlob(layer.digest))).toBe(0);
  }
  return manifest;
}

describe("POST /api/push", () => {
  test("uploads each layer and the config, then the manifest, with Ollama's progress lines", async () => {
    const name = `${registry.host}/library/fox:v1`;
    await createModel({ model: name, from: "text", system: "You are a fox.", parameters: { temperature: 0, num_predict: 4 }, license: "Fox license" });
    registry.reset();
    const lines = await push({ model: name, insecure: true });
    const manifest = await expectLanded("library/fox", "v1");
    const blobs = [...manifest.layers, manifest.config];
    expect(lines[0]).toEqual({ status: "retrieving manifest" });
    expect([...new Set(lines.map((l) => l.status))]).toEqual(["retrieving manifest", ...blobs.map((l) => `pushing ${l.digest.slice(7, 19)}`), "pushing manifest", "success"]);
    for (const layer of blobs) {
      const progress = lines.filter((l) => l.digest === layer.digest);
      expect(progress.at(-1)).toEqual({ status: `pushing ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.size, completed: layer.size });
    }
    // Each blob: HEAD (absent), POST to start, one PATCH, PUT ?digest= to commit; then the manifest.
    const calls = registry.stats.requests.filter((r) => r.server === "registry").map((r) => `${r.method} ${r.path.replace(/\?.*/, "")}`);
    expect(calls.filter((c) => c.startsWith("PATCH")).length).toBe(blobs.length);
    expect(calls.at(-1)).toBe("PUT /v2/library/fox/manifests/v1");
    const put = registry.stats.requests.findLast((r) => r.method === "PUT" && r.path.includes("/blobs/uploads/"));
    expect(new URL(put!.path, registry.url).searchParams.get("digest")).toBe(manifest.config.digest);
  });

  test("a second push skips every blob the registry has (stream: false answers the last line)", async () => {
    registry.reset();
    const res = await ollama.push({ model: `${registry.host}/library/fox:v1`, insecure: true, stream: false });
    expect(res.status).toBe("success");
    const methods = registry.stats.requests.map((r) => r.method);
    expect(methods).not.toContain("POST");
    expect(methods).not.toContain("PATCH");
    expect(methods.filter((m) => m === "HEAD").length).toBe(JSON.parse(registry.rawManifest("library/fox", "v1")!).layers.length + 1);
  });

  test("a large blob goes in Content-Range parts, each to the Location the last answer gave", async () => {
    const name = `${registry.host}/library/big:latest`;
    await createModel({ model: name, from: "big" });
    registry.reset();
    registry.settings.uploadLocation = "relative";
    try {
      const res = await ollama.push({ model: name, insecure: true, stream: true });
      let last;
      for await (const line of res) last = line;
      expect(last!.status).toBe("success");
    } finally {
      registry.settings.uploadLocation = "absolute";
    }
    const manifest = await expectLanded("library/big", "latest");
    const size = manifest.layers[0]!.size;
    expect(size).toBeGreaterThan(40 * MiB);
    const ranges = registry.stats.requests.filter((r) => r.method === "PATCH" && r.contentRange).map((r) => r.contentRange);
    const part = 16 * MiB;
    expect(ranges).toContain(`0-${part - 1}`);
    expect(ranges).toContain(`${part}-${2 * part - 1}`);
    expect(ranges).toContain(`${2 * part}-${size - 1}`);
  });

  test("a registry that wants a bearer token gets one from its challenge", async () => {
    const name = `${registry.host}/me/secret:v1`;
    await createModel({ model: name, from: "text", system: "A secret." });
    registry.reset();
    registry.settings.token = "s3cret";
    try {
      const lines = await push({ model: name, insecure: true });
      expect(lines.at(-1)).toEqual({ status: "success" });
    } finally {
      registry.settings.token = undefined;
    }
    await expectLanded("me/secret", "v1");
    const registryCalls = registry.stats.requests.filter((r) => r.server === "registry" && r.path.startsWith("/v2/"));
    expect(registryCalls.at(-1)!.authorization).toBe("Bearer s3cret");
  });

  test("a registry error mid-push ends the stream with an error line", async () => {
    const name = `${registry.host}/library/broken:v1`;
    await createModel({ model: name, from: "text", system: "Broken." });
    registry.faults.status.push({ path: "/manifests/", method: "PUT", status: 500, times: 1, body: '{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}' });
    const lines = await push({ model: name, insecure: true });
    expect(lines.at(-2)).toEqual({ status: "pushing manifest" });
    expect(lines.at(-1).error).toContain("disk on fire");
    expect(registry.rawManifest("library/broken", "v1")).toBeUndefined();
  });
});

describe("a push that cannot be made is a 4xx before any progress", () => {
  test("an unknown model is a 404", async () => {
    const res = await json(`${server.url}/api/push`, { model: `${registry.host}/library/nothing:v1`, insecure: true });
    expect(res.status).toBe(404);
    expect(res.body.error).toContain("not found");
  });

  test("a plain GGUF file has to be created first", async () => {
    const res = await json(`${server.url}/api/push`, { model: "text", insecure: true });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain("create it first");
  });

  test("http:// without insecure is refused, naming insecure", async () => {
    const res = await json(`${server.url}/api/push`, { model: `http://${registry.host}/library/fox:v1` });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain("insecure");
  });

  test("registry.ollama.ai needs Ollama's signing key", async () => {
    await createModel({ model: "me/mine", from: "text", system: "Mine." });
    const res = await json(`${server.url}/api/push`, { model: "me/mine" });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain("registry.ollama.ai");
  });

  test("no model named is a 400", async () => {
    const res = await json(`${server.url}/api/push`, { insecure: true });
    expect(res).toEqual({ status: 400, body: { error: "model is required", request_id: expect.any(String) } });
  });
});
