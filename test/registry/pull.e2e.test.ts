import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { ensureModel } from "../../scripts/gen-model.ts";
import { json, ndjson, post } from "../support/ollama-wire.ts";
import { filesUnder, paddedModel } from "../support/pull-fixtures.ts";
import { startFakeRegistry, type FakeRegistry, type Manifest } from "../support/registry/fake-registry.ts";
import { startServer, type TestServer } from "../support/server.ts";

let root: string;
let models: string;
let registry: FakeRegistry;
let server: TestServer;
let tiny: Manifest;
let big: Manifest;
let bigSize: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hearth-pull-"));
  models = join(root, "models");
  registry = await startFakeRegistry();
  tiny = await registry.addModel("library/tiny", "v1", {
    model: await ensureModel("text"),
    template: "{{ .System }} {{ .Prompt }}",
    system: "You are a fox.",
    params: { num_predict: 4, temperature: 0 },
    license: "Fox license",
  });
  const padded = await paddedModel(root, 40 * 1024 * 1024);
  big = await registry.addModel("library/big", "latest", { model: padded });
  bigSize = big.layers[0]!.size;
  server = await startServer({ models, args: ["--ctx-size", "256", "--parallel", "1"] });
});

afterAll(async () => {
  await server?.stop();
  await registry?.stop();
  await rm(root, { recursive: true, force: true });
});

const pull = (body: Record<string, unknown>) => ndjson(`${server.url}/api/pull`, body);

describe("POST /api/pull", () => {
  test("streams Ollama's progress lines in order, then the model is served by the name it was pulled as", async () => {
    const name = `${registry.host}/library/tiny:v1`;
    const lines = await pull({ model: name, insecure: true });
    expect(lines[0]).toEqual({ status: "pulling manifest" });
    const statuses = [...new Set(lines.map((l) => l.status))];
    const layers = [...tiny.layers, tiny.config];
    expect(statuses).toEqual(["pulling manifest", ...layers.map((l) => `pulling ${l.digest.slice(7, 19)}`), "verifying sha256 digest", "writing manifest", "success"]);
    for (const layer of layers) {
      const progress = lines.filter((l) => l.digest === layer.digest);
      expect(progress.at(-1)).toEqual({ status: `pulling ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.size, completed: layer.size });
      // Go's omitempty: a count of 0 is left out, never sent as 0.
      for (const line of progress) expect(line.completed === undefined || line.completed > 0).toBe(true);
    }
    for (const line of lines.filter((l) => !l.digest)) expect(Object.keys(line)).toEqual(["status"]);

    const tags = await (await fetch(`${server.url}/api/tags`)).json();
    const listed = tags.models.find((m: { name: string }) => m.name === name);
    expect(listed.digest).toBe(new Bun.CryptoHasher("sha256").update(registry.rawManifest("library/tiny", "v1")!).digest("hex"));

    const ollama = new Ollama({ host: server.url });
    const shown = await ollama.show({ model: name });
    expect(shown.system).toBe("You are a fox.");
    expect(shown.template).toBe("{{ .System }} {{ .Prompt }}");
    expect(shown.license).toBe("Fox license");
    const chat = await ollama.chat({ model: name, messages: [{ role: "user", content: "hi" }] });
    expect(chat.message.content).toBe("The quick brown fox");
    expect(chat.eval_count).toBe(4);
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none" });
    const completion = await openai.chat.completions.create({ model: name, messages: [{ role: "user", content: "hi" }] });
    expect(completion.choices[0]!.message.content).toBe("The quick brown fox");
    expect(completion.model).toBe(name);
  });

  test("the blob came from the CDN host without the registry's credentials, in Range requests", () => {
    const cdn = registry.stats.requests.filter((r) => r.server === "cdn");
    expect(cdn.length).toBeGreaterThan(0);
    expect(registry.stats.cdnSawAuthorization).toBe(false);
    expect(cdn.every((r) => r.range?.startsWith("bytes="))).toBe(true);
  });

  test("a large blob is fetched in parallel Range parts, each byte once", async () => {
    registry.reset();
    const lines = await pull({ model: `${registry.host}/library/big`, insecure: true });
    expect(lines.at(-1)).toEqual({ status: "success" });
    const ranges = registry.stats.requests.filter((r) => r.server === "cdn" && r.path.includes(big.layers[0]!.digest.slice(7))).map((r) => r.range);
    expect(new Set(ranges).size).toBeGreaterThanOrEqual(2);
    expect(registry.stats.served(big.layers[0]!.digest)).toBe(bigSize);
    const answer = await json(`${server.url}/api/generate`, { model: `${registry.host}/library/big:latest`, prompt: "x", stream: false, options: { temperature: 0, num_predict: 2 } });
    expect(answer.body.response).toBe("The quick");
  });

  test("pulling again reuses every blob: nothing is downloaded", async () => {
    registry.reset();
    const lines = await pull({ model: `${registry.host}/library/big:latest`, insecure: true });
    expect(lines.at(-1)).toEqual({ status: "success" });
    expect(registry.stats.served(big.layers[0]!.digest)).toBe(0);
    expect(lines.find((l) => l.digest === big.layers[0]!.digest)).toMatchObject({ total: bigSize, completed: bigSize });
  });

  test("tags match without regard to case", async () => {
    const lines = await pull({ model: `${registry.host}/library/TINY:V1`, insecure: true });
    expect(lines.at(-1)).toEqual({ status: "success" });
    const tags = await (await fetch(`${server.url}/api/tags`)).json();
    // One model, its manifest replaced under the name as last pulled.
    expect(tags.models.filter((m: { name: string }) => m.name.toLowerCase() === `${registry.host}/library/tiny:v1`)).toHaveLength(1);
  });

  test("the ollama npm client pulls, streamed and not, and gets Ollama's error for an unknown tag", async () => {
    const ollama = new Ollama({ host: server.url });
    const seen: string[] = [];
    for await (const progress of await ollama.pull({ model: `${registry.host}/library/tiny:v1`, insecure: true, stream: true })) seen.push(progress.status);
    expect(seen[0]).toBe("pulling manifest");
    expect(seen.at(-1)).toBe("success");
    expect((await ollama.pull({ model: `${registry.host}/library/tiny:v1`, insecure: true })).status).toBe("success");
    await expect(ollama.pull({ model: `${registry.host}/library/tiny:missing`, insecure: true })).rejects.toThrow("pull model manifest: file does not exist");
  });

  test("stream: false answers with the last status only", async () => {
    const res = await json(`${server.url}/api/pull`, { model: `${registry.host}/library/tiny:v1`, insecure: true, stream: false });
    expect(res).toEqual({ status: 200, body: { status: "success" } });
  });

  test("an unknown tag: Ollama's error, after the first line when streaming, as a 404 otherwise", async () => {
    const lines = await pull({ model: `${registry.host}/library/tiny:nope`, insecure: true });
    expect(lines).toEqual([{ status: "pulling manifest" }, { error: "pull model manifest: file does not exist" }]);
    const res = await json(`${server.url}/api/pull`, { model: `${registry.host}/library/nothing`, insecure: true, stream: false });
    expect(res).toEqual({ status: 404, body: { error: "pull model manifest: file does not exist", request_id: expect.any(String) } });
  });

  test("a corrupted blob is a digest mismatch and nothing of it is kept", async () => {
    const other = await registry.addModel("library/flipped", "v1", { model: await ensureModel("tiny"), system: "flipped" });
    registry.reset();
    registry.faults.flipByte = 100;
    registry.faults.digest = other.layers[0]!.digest;
    const before = await filesUnder(models);
    const res = await json(`${server.url}/api/pull`, { model: `${registry.host}/library/flipped:v1`, insecure: true, stream: false });
    expect(res.status).toBe(502);
    expect(res.body.error).toStartWith(`digest mismatch, file must be downloaded again: want ${other.layers[0]!.digest}, got sha256:`);
    const after = await filesUnder(models);
    expect(after.filter((f) => !before.includes(f))).toEqual([]);
    registry.reset();
  });

  test("plain http needs insecure: true, as in Ollama", async () => {
    const res = await json(`${server.url}/api/pull`, { model: `http://${registry.host}/library/tiny:v1` });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain("insecure");
  });

  test.each([
    [{ model: "../../etc/passwd" }, "model"],
    [{ model: "user:secret@example.com/ns/m:v1" }, "credentials"],
    [{ model: "a/b/c/d:e" }, "model"],
    [{ model: "ns/m:bad tag" }, "tag"],
    [{}, "model is required"],
    [{ model: 5 }, "model"],
    [{ model: "x", insecure: "yes" }, "insecure"],
  ])("bad input %p is a 400 naming the field, and nothing is written", async (body, word) => {
    const before = await filesUnder(models);
    const res = await post(`${server.url}/api/pull`, body);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toContain(word);
    expect(await filesUnder(models)).toEqual(before);
  });

  test("a manifest without a GGUF model layer is refused, and nothing is left behind", async () => {
    await registry.addModel("library/weights", "st", { model: new TextEncoder().encode("not a gguf file at all") });
    const before = await filesUnder(models);
    const res = await json(`${server.url}/api/pull`, { model: `${registry.host}/library/weights:st`, insecure: true, stream: false });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain("not a GGUF file");
    expect(await filesUnder(models)).toEqual(before);
  });

  test("a blob larger than the free disk fails at once, before any byte is downloaded", async () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: tiny.config,
      layers: [{ mediaType: "application/vnd.ollama.image.model", digest: `sha256:${"a".repeat(64)}`, size: 2 ** 52 }],
    };
    registry.faults.status.push({ path: "/v2/library/huge/manifests/v1", status: 200, body: JSON.stringify(manifest), headers: { "content-type": "application/vnd.docker.distribution.manifest.v2+json" } });
    registry.stats.reset();
    const res = await json(`${server.url}/api/pull`, { model: `${registry.host}/library/huge:v1`, insecure: true, stream: false });
    expect(res.status).toBe(507);
    expect(res.body.error).toContain("not enough disk space");
    expect(registry.stats.requests.filter((r) => r.path.includes("/blobs/"))).toEqual([]);
    registry.reset();
  });
});
