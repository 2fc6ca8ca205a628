import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOURCE_CLI } from "../support/server.ts";

// pull, push, create and run's pull of a missing model, against a stand-in server that speaks
// Ollama's wire format (api.md) and records what the CLI sends. The real routes get their own
// end-to-end tests; these pin down the client's side of the format.

const TIMEOUT = 30_000;
const LAYER = "sha256:8934d96d3f08a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e";
const GGUF = "GGUF fake weights";
const GGUF_DIGEST = `sha256:${createHash("sha256").update(GGUF).digest("hex")}`;

let server: ReturnType<typeof Bun.serve>;
let dir: string;
let requests: Array<{ method: string; path: string; body: any }>;
let blobs: Map<string, string>;
let pulled: Set<string>;

const ndjson = (lines: object[]) => new Response(lines.map((l) => JSON.stringify(l) + "\n").join(""), { headers: { "content-type": "application/x-ndjson" } });

const PULL = [
  { status: "pulling manifest" },
  { status: "pulling 8934d96d3f08", digest: LAYER, total: 1_117_000_000 },
  { status: "pulling 8934d96d3f08", digest: LAYER, total: 1_117_000_000, completed: 504_000_000 },
  { status: "pulling 8934d96d3f08", digest: LAYER, total: 1_117_000_000, completed: 1_117_000_000 },
  { status: "verifying sha256 digest" },
  { status: "writing manifest" },
  { status: "success" },
];
const PULL_OUTPUT = ["pulling manifest", "pulling 8934d96d3f08: 45% (504 MB/1.1 GB)", "pulling 8934d96d3f08: 100% (1.1 GB)", "verifying sha256 digest", "writing manifest", "success", ""].join("\n");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hearth-wire-"));
  server = Bun.serve({
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const text = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
      const blob = path.startsWith("/api/blobs/");
      requests.push({ method: request.method, path, body: blob || !text ? text : JSON.parse(text) });
      const body = requests.at(-1)!.body;
      if (blob) {
        const digest = path.slice("/api/blobs/".length);
        if (request.method === "HEAD") return new Response(null, { status: blobs.has(digest) ? 200 : 404 });
        if (`sha256:${createHash("sha256").update(text).digest("hex")}` !== digest) return Response.json({ error: "digest mismatch" }, { status: 400 });
        blobs.set(digest, text);
        return new Response(null, { status: 201 });
      }
      switch (path) {
        case "/api/tags":
          return new Response("boom", { status: 500 });
        case "/api/pull":
          if (body.model === "nowhere") return ndjson([{ status: "pulling manifest" }, { error: "pull model manifest: file does not exist" }]);
          pulled.add(body.model);
          return ndjson(PULL);
        case "/api/push":
          return ndjson([{ status: "retrieving manifest" }, { status: "starting upload", digest: LAYER, total: 100 }, { status: "starting upload", digest: LAYER, total: 100, completed: 100 }, { status: "pushing manifest" }, { status: "success" }]);
        case "/api/create":
          if (body.model === "Bad Name") return Response.json({ error: "invalid model name" }, { status: 400 });
          return ndjson([{ status: "parsing GGUF" }, { status: `using existing layer ${GGUF_DIGEST}` }, { status: "writing manifest" }, { status: "success" }]);
        case "/api/show":
          return pulled.has(body.model) ? Response.json({ capabilities: ["completion"] }) : Response.json({ error: `model '${body.model}' not found` }, { status: 404 });
        case "/api/chat":
          return ndjson([{ message: { role: "assistant", content: "Fresh " } }, { message: { role: "assistant", content: "answer." } }, { message: { role: "assistant", content: "" }, done: true }]);
      }
      return Response.json({ error: "404 page not found" }, { status: 404 });
    },
  });
});

afterAll(async () => {
  server?.stop(true);
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
  blobs = new Map();
  pulled = new Set();
});

async function hearth(args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, HEARTH_HOST: server.url.origin };
  delete env.HEARTH_PORT;
  const proc = Bun.spawn({ cmd: [...SOURCE_CLI, ...args], env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const posted = (path: string) => requests.filter((r) => r.path === path && r.method === "POST").map((r) => r.body);

describe("pull and push", () => {
  test("pull: the request, and its progress as plain lines when stderr is no terminal", async () => {
    expect(await hearth(["pull", "qwen3:0.6b", "--insecure"])).toEqual({ code: 0, stdout: "", stderr: PULL_OUTPUT });
    expect(posted("/api/pull")).toEqual([{ model: "qwen3:0.6b", insecure: true }]);
  }, TIMEOUT);

  test("an error line in the stream: exit 1 with its message", async () => {
    expect(await hearth(["pull", "nowhere"])).toEqual({ code: 1, stdout: "", stderr: "pulling manifest\nError: pull model manifest: file does not exist\n" });
  }, TIMEOUT);

  test("push: progress, then where the model went", async () => {
    const { code, stdout, stderr } = await hearth(["push", "me/mine"]);
    expect(code).toBe(0);
    expect(stderr).toBe("retrieving manifest\nstarting upload 0% (0 B/100 B)\nstarting upload 100% (100 B)\npushing manifest\nsuccess\n");
    expect(stdout).toBe("\nYou can find your model at:\n\n\tme/mine\n");
    expect(posted("/api/push")).toEqual([{ model: "me/mine" }]);
  }, TIMEOUT);

  test("an error status without a JSON body: the body is the message", async () => {
    expect(await hearth(["list"])).toEqual({ code: 1, stdout: "", stderr: "Error: boom\n" });
  }, TIMEOUT);
});

describe("create", () => {
  test("FROM a local GGUF: uploaded once by digest, then created from it, with the Modelfile's settings", async () => {
    await writeFile(join(dir, "model.gguf"), GGUF);
    const modelfile = join(dir, "Modelfile");
    await writeFile(modelfile, ['FROM ./model.gguf', "PARAMETER temperature 0.5", 'PARAMETER stop "<|a|>"', "PARAMETER stop <|b|>", 'SYSTEM """You are', 'a test."""', "MESSAGE user Hi", "LICENSE MIT"].join("\n"));

    // run from another folder: FROM's path is the Modelfile's folder's
    const { code, stdout, stderr } = await hearth(["create", "mine", "-f", modelfile]);
    expect({ code, stdout }).toEqual({ code: 0, stdout: "" });
    const short = GGUF_DIGEST.slice(7, 19);
    expect(stderr).toBe(
      ["gathering model components", `copying file ${short} 0% (0 B/17 B)`, `copying file ${short} 100% (17 B)`, "parsing GGUF", `using existing layer ${GGUF_DIGEST}`, "writing manifest", "success", ""].join("\n"),
    );
    expect(blobs.get(GGUF_DIGEST)).toBe(GGUF);
    expect(posted("/api/create")).toEqual([
      {
        model: "mine",
        files: { "model.gguf": GGUF_DIGEST },
        parameters: { temperature: 0.5, stop: ["<|a|>", "<|b|>"] },
        system: "You are\na test.",
        messages: [{ role: "user", content: "Hi" }],
        license: ["MIT"],
      },
    ]);

    // the server has the blob now: asked, not sent again
    requests = [];
    expect((await hearth(["create", "mine", "-f", modelfile])).code).toBe(0);
    expect(requests.filter((r) => r.path.startsWith("/api/blobs/")).map((r) => r.method)).toEqual(["HEAD"]);
  }, TIMEOUT);

  test("FROM a model name: created from it; the server's refusal is the error", async () => {
    const modelfile = join(dir, "FromName");
    await writeFile(modelfile, "FROM text\nSYSTEM Be brief.\n");
    expect((await hearth(["create", "brief", "-f", modelfile])).code).toBe(0);
    expect(posted("/api/create")).toEqual([{ model: "brief", from: "text", system: "Be brief." }]);
    const refused = await hearth(["create", "Bad Name", "-f", modelfile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toEndWith("Error: invalid model name\n");
  }, TIMEOUT);

  test("a Modelfile mistake fails before anything is sent", async () => {
    const modelfile = join(dir, "Broken");
    await writeFile(modelfile, "FROM text\nPARAMETER temperature warm\n");
    const { code, stderr } = await hearth(["create", "broken", "-f", modelfile]);
    expect(code).toBe(1);
    expect(stderr).toEndWith("Error: invalid float value [warm]\n");
    expect(requests).toEqual([]);
    expect(await hearth(["create", "x", "-f", join(dir, "missing")])).toMatchObject({ code: 1, stderr: `Error: specified Modelfile wasn't found: ${join(dir, "missing")}\n` });
  }, TIMEOUT);
});

test("run on a model the server lacks: pulled first, then answered", async () => {
  const { code, stdout, stderr } = await hearth(["run", "fresh", "Hi"]);
  expect({ code, stdout }).toEqual({ code: 0, stdout: "Fresh answer.\n\n" });
  expect(stderr).toBe(PULL_OUTPUT);
  expect(requests.map((r) => r.path)).toEqual(["/api/show", "/api/pull", "/api/show", "/api/chat"]);
  // the model cannot think, so think is left out
  expect(posted("/api/chat")).toEqual([{ model: "fresh", messages: [{ role: "user", content: "Hi" }] }]);
}, TIMEOUT);
