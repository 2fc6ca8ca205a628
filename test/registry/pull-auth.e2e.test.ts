import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { ensureModel } from "../../scripts/gen-model.ts";
import { json } from "../support/ollama-wire.ts";
import { startFakeRegistry, type FakeRegistry } from "../support/registry/fake-registry.ts";
import { startServer, type TestServer } from "../support/server.ts";

let root: string;
let registry: FakeRegistry;
let withToken: TestServer;
let withoutToken: TestServer;

/** A registry that wants a token; standing in for Hugging Face through HF_ENDPOINT. */
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hearth-pull-auth-"));
  registry = await startFakeRegistry({ token: "hf_secret", tokenEndpoint: { username: "someone-else", password: "x" } });
  await registry.addModel("someone/Repo-GGUF", "Q4_K_M", { model: await ensureModel("text") });
  const env = (extra: Record<string, string>) => ({ ...process.env, HF_ENDPOINT: registry.url, ...extra }) as Record<string, string>;
  [withToken, withoutToken] = await Promise.all([
    startServer({ models: join(root, "a"), env: env({ HF_TOKEN: "hf_secret" }), args: ["--ctx-size", "256", "--parallel", "1"] }),
    startServer({ models: join(root, "b"), env: env({ HF_TOKEN: "" }) }),
  ]);
});

afterAll(async () => {
  await Promise.all([withToken?.stop(), withoutToken?.stop()]);
  await registry?.stop();
  await rm(root, { recursive: true, force: true });
});

describe("pulling from Hugging Face and registries that want credentials", () => {
  test("hf.co/<user>/<repo>:<quant> goes to HF_ENDPOINT with HF_TOKEN, and never to the CDN host", async () => {
    registry.reset();
    const res = await json(`${withToken.url}/api/pull`, { model: "hf.co/someone/Repo-GGUF:q4_k_m", stream: false });
    expect(res).toEqual({ status: 200, body: { status: "success" } });
    const registryRequests = registry.stats.requests.filter((r) => r.server === "registry");
    expect(registryRequests.every((r) => r.authorization === "Bearer hf_secret")).toBe(true);
    expect(registry.stats.cdnSawAuthorization).toBe(false);
    const openai = new OpenAI({ baseURL: `${withToken.url}/v1`, apiKey: "none" });
    const models = (await openai.models.list()).data.map((m) => m.id);
    expect(models).toEqual(["hf.co/someone/Repo-GGUF:q4_k_m"]);
    const answer = await openai.chat.completions.create({ model: "hf.co/someone/repo-gguf:Q4_K_M", max_tokens: 2, temperature: 0, messages: [{ role: "user", content: "x" }] });
    expect(answer.choices[0]!.message.content).toBe("The quick");
  });

  test("without the token the registry's 401 is the answer, and nothing is kept", async () => {
    const res = await json(`${withoutToken.url}/api/pull`, { model: "hf.co/someone/Repo-GGUF:Q4_K_M", stream: false });
    expect(res.status).toBe(401);
    expect(res.body.error).toContain("unauthorized");
    expect((await json(`${withoutToken.url}/api/show`, { model: "hf.co/someone/Repo-GGUF:Q4_K_M" })).status).toBe(404);
  });

  test("a registry's Bearer challenge is answered from its token endpoint (the Docker token dance)", async () => {
    registry.settings.tokenEndpoint = undefined; // anonymous tokens, as public registries give them
    registry.reset();
    const res = await json(`${withoutToken.url}/api/pull`, { model: `${registry.host}/someone/Repo-GGUF:Q4_K_M`, insecure: true, stream: false });
    expect(res).toEqual({ status: 200, body: { status: "success" } });
    const tokenRequests = registry.stats.requests.filter((r) => r.path.startsWith("/token"));
    expect(tokenRequests.length).toBeGreaterThanOrEqual(1);
    expect(registry.stats.cdnSawAuthorization).toBe(false);
  });
});
