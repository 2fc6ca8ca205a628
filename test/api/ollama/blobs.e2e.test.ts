import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { modelsFolder } from "../../support/models.ts";
import { startServer, type TestServer } from "../../support/server.ts";

// Blob uploads are exempt from the request-body limit; every other route keeps it, for declared
// and for chunked bodies alike, in its dialect's error shape.
let server: TestServer;
let models: string;

beforeAll(async () => {
  models = await modelsFolder(["tiny"]);
  server = await startServer({ models, args: ["--ollama-models", "off"] });
});

afterAll(async () => {
  await server?.stop();
});

const MiB = 1024 * 1024;
const digestOf = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const blobFile = (digest: string) => join(models, "blobs", digest.replace(":", "-"));
const blobsFolder = async () => (await readdir(join(models, "blobs")).catch(() => [])).sort();

/** A body sent chunked (no Content-Length), in 1 MiB pieces. */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + MiB));
      offset += MiB;
    },
  });
}

function upload(digest: string, body: BodyInit): Promise<Response> {
  return fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body, duplex: "half" } as RequestInit);
}

const head = async (digest: string) => (await fetch(`${server.url}/api/blobs/${digest}`, { method: "HEAD" })).status;

describe("HEAD|POST /api/blobs/:digest", () => {
  test("an upload is stored under its digest (201), then found (HEAD 200) and not taken twice (200)", async () => {
    const bytes = randomBytes(3 * MiB);
    const digest = digestOf(bytes);
    expect(await head(digest)).toBe(404);
    const res = await upload(digest, bytes);
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("");
    expect(Buffer.compare(await readFile(blobFile(digest)), bytes)).toBe(0);
    expect(await head(digest)).toBe(200);
    expect(await head(digest.replace(":", "-"))).toBe(200); // Ollama's file spelling
    expect((await upload(digest, bytes)).status).toBe(200);
    expect(await blobsFolder()).toEqual([digest.replace(":", "-")]);
  });

  test("a malformed digest is a 400 naming it, for HEAD and POST", async () => {
    for (const bad of ["sha256:abc", "md5:" + "0".repeat(64), "sha256:" + "G".repeat(64)]) {
      expect(await head(bad)).toBe(400);
      const res = await upload(bad, "x");
      expect(res.status).toBe(400);
      expect((await res.json()).error).toContain(`invalid digest "${bad}"`);
    }
  });

  test("a body whose SHA-256 is not the digest named is a 400 and leaves nothing behind", async () => {
    const before = await blobsFolder();
    const claimed = digestOf(new TextEncoder().encode("something else"));
    const res = await upload(claimed, randomBytes(2 * MiB));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toStartWith(`digest mismatch, expected "${claimed}", got "sha256:`);
    expect(await head(claimed)).toBe(404);
    expect(await blobsFolder()).toEqual(before);
  });

  test("uploads are exempt from the 32 MiB limit, sent with a Content-Length or chunked", async () => {
    const declared = randomBytes(40 * MiB);
    expect((await upload(digestOf(declared), declared)).status).toBe(201);
    const streamed = randomBytes(36 * MiB);
    expect((await upload(digestOf(streamed), chunked(streamed))).status).toBe(201);
    expect(Buffer.compare(await readFile(blobFile(digestOf(streamed))), streamed)).toBe(0);
  });

  test("a client that disconnects mid-upload leaves nothing behind", async () => {
    const before = await blobsFolder();
    const digest = digestOf(randomBytes(32));
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write(`POST /api/blobs/${digest} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
    socket.write(randomBytes(4 * MiB));
    // The temporary file exists while the body arrives…
    const deadline = Date.now() + 10_000;
    while ((await blobsFolder()).length === before.length && Date.now() < deadline) await Bun.sleep(20);
    expect((await blobsFolder()).some((f) => f.endsWith("-partial"))).toBe(true);
    socket.destroy();
    // …and is gone once the client is.
    while ((await blobsFolder()).length !== before.length && Date.now() < deadline) await Bun.sleep(20);
    expect(await blobsFolder()).toEqual(before);
    expect(await head(digest)).toBe(404);
  });
});

describe("the body limit on every other route", () => {
  const oversize = () => JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "x".repeat(33 * MiB) }] });

  test("a chunked body over 32 MiB is a 413 in Ollama's shape on /api/ routes", async () => {
    const res = await fetch(`${server.url}/api/chat`, { method: "POST", body: chunked(new TextEncoder().encode(oversize())), duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error).toContain("the limit is 33554432 bytes");
  });

  test("and in OpenAI's shape on /v1/ routes", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(new TextEncoder().encode(oversize())),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatchObject({ code: "request_too_large" });
  });

  test("a declared Content-Length over the limit is refused the same way", async () => {
    const res = await fetch(`${server.url}/api/show`, { method: "POST", body: oversize() });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toContain("the limit is 33554432 bytes");
  });

  test("a chunked body within the limit reaches its route whole", async () => {
    const res = await fetch(`${server.url}/api/show`, { method: "POST", body: chunked(new TextEncoder().encode(JSON.stringify({ model: "tiny" }))), duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect((await res.json()).details.format).toBe("gguf");
  });
});
