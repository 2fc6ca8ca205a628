// The fake registry that pull/push tests run against, checked with raw fetch so that a failing
// pull test can be blamed on the client, not on its fake.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  bigBlobFile,
  CONFIG_MEDIA_TYPE,
  LAYER_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPE,
  sha256Bytes,
  sha256File,
  startFakeRegistry,
  type FakeRegistry,
  type Manifest,
} from "../support/registry/fake-registry.ts";

const MODEL = randomBytes(300_000, "GGUF");

function randomBytes(n: number, prefix = ""): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, n)));
  bytes.set(new TextEncoder().encode(prefix));
  return bytes;
}

/** Reads a body to its end, keeping what arrived before an error instead of losing it. */
async function drain(res: Response): Promise<{ bytes: Uint8Array<ArrayBuffer>; error?: Error }> {
  const parts: Uint8Array[] = [];
  const bytes = () => new Uint8Array(Buffer.concat(parts));
  try {
    for await (const chunk of res.body!) parts.push(chunk);
  } catch (error) {
    return { bytes: bytes(), error: error as Error };
  }
  return { bytes: bytes() };
}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { errors: Array<{ code: string }> }).errors[0]?.code;
}

describe("fake registry: pull side", () => {
  let registry: FakeRegistry;
  let manifest: Manifest;
  let modelDigest: string;

  beforeAll(async () => {
    registry = await startFakeRegistry();
    manifest = await registry.addModel("library/tiny", "v1", {
      model: MODEL,
      template: "{{ .Prompt }}",
      system: "You are tiny.",
      params: { stop: ["<|end|>"], temperature: 0.5 },
      license: "MIT",
      messages: [{ role: "user", content: "hi" }],
    });
    modelDigest = manifest.layers[0]!.digest;
  });
  afterAll(() => registry.stop());
  beforeEach(() => {
    registry.reset();
    registry.settings.redirectBlobs = true;
  });

  const blobUrl = (digest: string, name = "library/tiny") => `${registry.url}/v2/${name}/blobs/${digest}`;
  const cdnLocation = async (digest: string) => (await fetch(blobUrl(digest), { redirect: "manual" })).headers.get("location")!;

  test("addresses: registry on 127.0.0.1, CDN on the host name localhost", () => {
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(registry.host).toBe(registry.url.slice("http://".length));
    expect(registry.cdnUrl).toMatch(/^http:\/\/localhost:\d+$/);
  });

  test("manifests are Ollama's shape, served with their digest; tags match case-insensitively", async () => {
    const res = await fetch(`${registry.url}/v2/library/tiny/manifests/V1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(MANIFEST_MEDIA_TYPE);
    const raw = await res.text();
    expect(res.headers.get("docker-content-digest")).toBe(sha256Bytes(raw));
    expect(JSON.parse(raw)).toEqual(manifest);
    expect(raw).toStartWith(`{"schemaVersion":2,"mediaType":"${MANIFEST_MEDIA_TYPE}","config":{"mediaType":"${CONFIG_MEDIA_TYPE}"`);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      LAYER_MEDIA_TYPES.model,
      LAYER_MEDIA_TYPES.template,
      LAYER_MEDIA_TYPES.system,
      LAYER_MEDIA_TYPES.params,
      LAYER_MEDIA_TYPES.messages,
      LAYER_MEDIA_TYPES.license,
    ]);
    expect(manifest.layers[0]).toEqual({ mediaType: LAYER_MEDIA_TYPES.model, digest: sha256Bytes(MODEL), size: MODEL.length });

    const head = await fetch(`${registry.url}/v2/library/tiny/manifests/v1`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(Buffer.byteLength(raw));
    expect(await head.text()).toBe("");
  });

  test("the config blob is Ollama's ConfigV2 and layer blobs hold the parts", async () => {
    const config = await (await fetch(blobUrl(manifest.config.digest))).json();
    expect(config).toEqual({
      model_format: "gguf",
      model_family: "llama",
      model_families: ["llama"],
      model_type: "1M",
      file_type: "F16",
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: manifest.layers.map((l) => l.digest) },
    });
    const params = manifest.layers.find((l) => l.mediaType === LAYER_MEDIA_TYPES.params)!;
    expect(await (await fetch(blobUrl(params.digest))).json()).toEqual({ stop: ["<|end|>"], temperature: 0.5 });
    const system = manifest.layers.find((l) => l.mediaType === LAYER_MEDIA_TYPES.system)!;
    expect(await (await fetch(blobUrl(system.digest))).text()).toBe("You are tiny.");
  });

  test("unknown or hidden manifests are 404 MANIFEST_UNKNOWN", async () => {
    const missing = await fetch(`${registry.url}/v2/library/nope/manifests/v1`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] });

    registry.faults.missingTags = ["library/tiny:v1"];
    expect((await fetch(`${registry.url}/v2/library/tiny/manifests/v1`)).status).toBe(404);
    registry.faults.missingTags = ["V1"];
    expect((await fetch(`${registry.url}/v2/library/tiny/manifests/v1`, { method: "HEAD" })).status).toBe(404);
    registry.faults.missingTags = [];
    expect((await fetch(`${registry.url}/v2/library/tiny/manifests/v1`)).status).toBe(200);
  });

  test("blob GET redirects (307) to a signed URL on the CDN host, which serves the bytes", async () => {
    const res = await fetch(blobUrl(modelDigest), { redirect: "manual" });
    expect(res.status).toBe(307);
    const location = res.headers.get("location")!;
    expect(location).toStartWith(`${registry.cdnUrl}/`);
    expect(new URL(location).searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);

    const cdn = await fetch(location);
    expect(cdn.status).toBe(200);
    expect(cdn.headers.get("content-length")).toBe(String(MODEL.length));
    expect(cdn.headers.get("accept-ranges")).toBe("bytes");
    expect(new Uint8Array(await cdn.arrayBuffer())).toEqual(MODEL);
    expect(registry.stats.served(modelDigest)).toBe(MODEL.length);

    const followed = await fetch(blobUrl(modelDigest));
    expect(followed.redirected).toBe(true);
    expect(sha256Bytes(new Uint8Array(await followed.arrayBuffer()))).toBe(modelDigest);

    // The query string is the credential: dropping or altering it is refused.
    expect((await fetch(location.split("?")[0]!)).status).toBe(403);
    expect((await fetch(location.replace(/X-Amz-Signature=./, "X-Amz-Signature=x"))).status).toBe(403);
    expect(registry.stats.requests.filter((r) => r.server === "cdn").map((r) => r.host)).toContain(new URL(registry.cdnUrl).host);
  });

  test("blob HEAD gives the size; unknown blobs are 404", async () => {
    const head = await fetch(blobUrl(modelDigest), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(MODEL.length));
    expect(head.headers.get("docker-content-digest")).toBe(modelDigest);
    const unknown = sha256Bytes("nothing");
    expect((await fetch(blobUrl(unknown), { method: "HEAD" })).status).toBe(404);
    const get = await fetch(blobUrl(unknown));
    expect(get.status).toBe(404);
    expect(await errorCode(get)).toBe("BLOB_UNKNOWN");
  });

  test("the CDN honours Range with 206 and Content-Range, and 416 past the end", async () => {
    const location = await cdnLocation(modelDigest);
    const size = MODEL.length;
    const get = (range: string) => fetch(location, { headers: { Range: range } });

    const mid = await get("bytes=10-19");
    expect(mid.status).toBe(206);
    expect(mid.headers.get("content-range")).toBe(`bytes 10-19/${size}`);
    expect(mid.headers.get("content-length")).toBe("10");
    expect(new Uint8Array(await mid.arrayBuffer())).toEqual(MODEL.subarray(10, 20));

    const open = await get(`bytes=${size - 5}-`);
    expect(open.headers.get("content-range")).toBe(`bytes ${size - 5}-${size - 1}/${size}`);
    expect(new Uint8Array(await open.arrayBuffer())).toEqual(MODEL.subarray(size - 5));

    const suffix = await get("bytes=-7");
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(MODEL.subarray(size - 7));

    const clipped = await get(`bytes=${size - 3}-${size + 100}`);
    expect(clipped.headers.get("content-range")).toBe(`bytes ${size - 3}-${size - 1}/${size}`);
    await clipped.arrayBuffer();

    const past = await get(`bytes=${size}-`);
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${size}`);

    expect(registry.stats.served(modelDigest)).toBe(10 + 5 + 7 + 3);
    expect(registry.stats.requests.filter((r) => r.server === "cdn").map((r) => r.range)).toContain("bytes=10-19");
  });

  test("redirectBlobs: false serves blobs from the registry itself, ranges included", async () => {
    registry.settings.redirectBlobs = false;
    const whole = await fetch(blobUrl(modelDigest), { redirect: "manual" });
    expect(whole.status).toBe(200);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(MODEL);

    const part = await fetch(blobUrl(modelDigest), { headers: { Range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${MODEL.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(MODEL.subarray(100, 200));
    expect(registry.stats.served(modelDigest)).toBe(MODEL.length + 100);
  });

  test("cutAfterBytes: the client gets exactly N bytes, then an error; then the rest resumes by Range", async () => {
    registry.faults.cutAfterBytes = 100_000;
    registry.faults.cutTimes = 1;
    const location = await cdnLocation(modelDigest);

    const cut = await fetch(location);
    expect(cut.headers.get("content-length")).toBe(String(MODEL.length));
    const first = await drain(cut);
    expect(first.error).toBeInstanceOf(Error);
    expect((first.error as Error & { code?: string }).code).toBe("ECONNRESET");
    expect(first.bytes.length).toBe(100_000);
    expect(registry.stats.cuts).toBe(1);

    const rest = await drain(await fetch(location, { headers: { Range: `bytes=${first.bytes.length}-` } }));
    expect(rest.error).toBeUndefined();
    expect(sha256Bytes(Buffer.concat([first.bytes, rest.bytes]))).toBe(modelDigest);
    expect(registry.stats.served(modelDigest)).toBe(MODEL.length);
  });

  test("cutTimes counts down; faults.digest confines faults to one blob", async () => {
    const location = await cdnLocation(modelDigest);
    registry.faults.cutAfterBytes = 10;
    registry.faults.cutTimes = 2;
    expect((await drain(await fetch(location))).error).toBeDefined();
    expect((await drain(await fetch(location))).error).toBeDefined();
    expect((await drain(await fetch(location))).error).toBeUndefined();

    registry.faults.cutTimes = Infinity;
    registry.faults.digest = manifest.config.digest;
    expect((await drain(await fetch(location))).error).toBeUndefined();
    expect((await drain(await fetch(await cdnLocation(manifest.config.digest)))).error).toBeDefined();
  });

  test("a cut on the registry's own blob responses surfaces as an error too", async () => {
    registry.settings.redirectBlobs = false;
    registry.faults.cutAfterBytes = 100_000;
    registry.faults.cutTimes = 1;
    const { bytes, error } = await drain(await fetch(blobUrl(modelDigest)));
    expect(error).toBeInstanceOf(Error);
    expect(bytes.length).toBeLessThanOrEqual(100_000);
    expect(bytes).toEqual(MODEL.subarray(0, bytes.length));
    expect((await drain(await fetch(blobUrl(modelDigest)))).bytes).toEqual(MODEL);
  });

  for (const via of ["cdn", "registry"] as const) {
    test(`stallAfterBytes (${via}): N bytes, then silence until the client aborts`, async () => {
      registry.settings.redirectBlobs = via === "cdn";
      registry.faults.stallAfterBytes = 50_000;
      registry.faults.stallTimes = 1;
      const started = Date.now();
      const res = await fetch(blobUrl(modelDigest), { signal: AbortSignal.timeout(400) });
      const { bytes, error } = await drain(res);
      expect(error?.name).toBe("TimeoutError");
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      if (via === "cdn") expect(bytes.length).toBe(50_000);
      else expect(bytes.length).toBeLessThanOrEqual(50_000);
      expect(registry.stats.stalls).toBe(1);

      const again = await drain(await fetch(blobUrl(modelDigest), { signal: AbortSignal.timeout(5000) }));
      expect(again.bytes).toEqual(MODEL);
    });
  }

  test("flipByte corrupts one byte of responses covering it, flipTimes of them", async () => {
    registry.faults.flipByte = 1234;
    registry.faults.flipTimes = 1;
    const location = await cdnLocation(modelDigest);

    const before = await fetch(location, { headers: { Range: "bytes=0-999" } });
    expect(new Uint8Array(await before.arrayBuffer())).toEqual(MODEL.subarray(0, 1000));
    expect(registry.faults.flipTimes).toBe(1); // not covering the byte: not used up

    const flipped = new Uint8Array(await (await fetch(location)).arrayBuffer());
    expect(flipped.length).toBe(MODEL.length);
    expect(sha256Bytes(flipped)).not.toBe(modelDigest);
    expect(flipped[1234]).toBe(MODEL[1234]! ^ 0xff);
    flipped[1234] = MODEL[1234]!;
    expect(flipped).toEqual(MODEL);

    expect(sha256Bytes(new Uint8Array(await (await fetch(location)).arrayBuffer()))).toBe(modelDigest);
    expect(registry.stats.flips).toBe(1);
  });

  test("status overrides answer matching requests, `times` of them, on either server", async () => {
    registry.faults.status.push({ path: "/manifests/", status: 503, times: 1, body: "busy", headers: { "Retry-After": "1" } });
    const busy = await fetch(`${registry.url}/v2/library/tiny/manifests/v1`);
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await busy.text()).toBe("busy");
    expect((await fetch(`${registry.url}/v2/library/tiny/manifests/v1`)).status).toBe(200);

    registry.faults.status.push({ path: /\/data$/, method: "GET", status: 500 });
    const location = await cdnLocation(modelDigest);
    expect((await fetch(location)).status).toBe(500);
    expect((await fetch(location, { method: "HEAD" })).status).toBe(200);
  });

  test("stats record every request; reset() clears them and disarms faults", async () => {
    await fetch(blobUrl(modelDigest), { headers: { Range: "bytes=0-1", Authorization: "Bearer x" } });
    const [request] = registry.stats.requests;
    expect(request).toEqual({
      server: "registry",
      method: "GET",
      path: `/v2/library/tiny/blobs/${modelDigest}`,
      range: "bytes=0-1",
      contentRange: null,
      authorization: "Bearer x",
      host: registry.host,
    });
    registry.faults.cutAfterBytes = 1;
    registry.reset();
    expect(registry.stats.requests).toEqual([]);
    expect(registry.stats.served(modelDigest)).toBe(0);
    expect(registry.faults).toEqual({ cutTimes: Infinity, stallTimes: Infinity, flipTimes: Infinity, missingTags: [], status: [] });
  });

  test("a removed blob is 404 although the manifest names it", async () => {
    const extra = await registry.addModel("tiny", "gone", { model: randomBytes(1000, "GGUF") });
    const digest = extra.layers[0]!.digest;
    expect(registry.manifest("library/tiny", "gone")).toEqual(extra);
    await registry.removeBlob(digest);
    expect(registry.hasBlob(digest)).toBe(false);
    expect((await fetch(blobUrl(digest))).status).toBe(404);
  });
});

describe("fake registry: push side", () => {
  let registry: FakeRegistry;
  const BLOB = randomBytes(250_000, "GGUF");
  const digest = sha256Bytes(BLOB);

  beforeAll(async () => {
    registry = await startFakeRegistry();
  });
  afterAll(() => registry.stop());
  beforeEach(() => {
    registry.reset();
    registry.settings.uploadLocation = "absolute";
  });

  const startUpload = async (name = "me/pushed") => {
    const res = await fetch(`${registry.url}/v2/${name}/blobs/uploads/`, { method: "POST" });
    expect(res.status).toBe(202);
    return res;
  };
  const patch = (location: string, body: Uint8Array<ArrayBuffer>, start: number) =>
    fetch(new URL(location, registry.url), {
      method: "PATCH",
      body,
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${start}-${start + body.length - 1}` },
    });

  test("chunked upload as Ollama does it: POST, PATCH with Content-Range, PUT ?digest=", async () => {
    expect((await fetch(`${registry.url}/v2/me/pushed/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
    const started = await startUpload();
    const uuid = started.headers.get("docker-upload-uuid")!;
    let location = started.headers.get("location")!;
    expect(location).toStartWith(`${registry.url}/v2/me/pushed/blobs/uploads/${uuid}?_state=`);

    const first = await patch(location, BLOB.subarray(0, 100_000), 0);
    expect(first.status).toBe(202);
    expect(first.headers.get("range")).toBe("0-99999");
    expect(first.headers.get("docker-upload-uuid")).toBe(uuid);
    const stale = location;
    location = first.headers.get("location")!;
    expect(location).not.toBe(stale);

    // The Location of before the chunk no longer works: a client must follow the last one.
    const old = await patch(stale, BLOB.subarray(100_000), 100_000);
    expect(old.status).toBe(400);
    expect(await errorCode(old)).toBe("BLOB_UPLOAD_INVALID");

    // A chunk may be sent again (a retry), rewriting the tail; a hole is refused.
    const hole = await patch(location, BLOB.subarray(150_000), 150_000);
    expect(hole.status).toBe(416);
    expect(hole.headers.get("range")).toBe("0-99999");
    const second = await patch(location, BLOB.subarray(100_000, 200_000), 100_000);
    expect(second.headers.get("range")).toBe("0-199999");
    const retried = await patch(second.headers.get("location")!, BLOB.subarray(100_000, 200_000), 100_000);
    expect(retried.headers.get("range")).toBe("0-199999");
    location = retried.headers.get("location")!;
    const third = await patch(location, BLOB.subarray(200_000), 200_000);
    location = third.headers.get("location")!;

    const commit = new URL(location);
    commit.searchParams.set("digest", digest);
    commit.searchParams.set("etag", "ignored-1");
    const put = await fetch(commit, { method: "PUT", headers: { "Content-Length": "0" } });
    expect(put.status).toBe(201);
    expect(put.headers.get("docker-content-digest")).toBe(digest);
    expect(put.headers.get("location")).toBe(`/v2/me/pushed/blobs/${digest}`);

    expect((await fetch(`${registry.url}/v2/me/pushed/blobs/${digest}`, { method: "HEAD" })).headers.get("content-length")).toBe(String(BLOB.length));
    expect(new Uint8Array(await Bun.file(registry.blobPath(digest)!).arrayBuffer())).toEqual(BLOB);
    expect(registry.stats.bytesReceived).toBe(BLOB.length + 100_000);
    expect(registry.stats.requests.filter((r) => r.method === "PATCH").map((r) => r.contentRange)).toContain("0-99999");
  });

  test("relative Locations; a last chunk in the PUT; a wrong digest is 400 DIGEST_INVALID", async () => {
    registry.settings.uploadLocation = "relative";
    const other = randomBytes(5000);
    const location = (await startUpload()).headers.get("location")!;
    expect(location).toStartWith("/v2/me/pushed/blobs/uploads/");
    const next = (await patch(location, other.subarray(0, 2000), 0)).headers.get("location")!;

    const wrong = new URL(next, registry.url);
    wrong.searchParams.set("digest", sha256Bytes("something else"));
    const bad = await fetch(wrong, { method: "PUT", body: other.subarray(2000) });
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("DIGEST_INVALID");
    expect(registry.hasBlob(sha256Bytes(other))).toBe(false);

    const retry = (await startUpload()).headers.get("location")!;
    const put = new URL(retry, registry.url);
    put.searchParams.set("digest", sha256Bytes(other));
    expect((await fetch(put, { method: "PUT", body: other })).status).toBe(201);
    expect(registry.hasBlob(sha256Bytes(other))).toBe(true);
  });

  test("monolithic POST ?digest= and cross-repository mount", async () => {
    const small = new TextEncoder().encode("a template");
    const posted = await fetch(`${registry.url}/v2/me/pushed/blobs/uploads/?digest=${sha256Bytes(small)}`, { method: "POST", body: small });
    expect(posted.status).toBe(201);
    const mount = await fetch(`${registry.url}/v2/me/other/blobs/uploads/?mount=${sha256Bytes(small)}&from=me/pushed`, { method: "POST" });
    expect(mount.status).toBe(201);
    expect(mount.headers.get("location")).toBe(`/v2/me/other/blobs/${sha256Bytes(small)}`);
    const unknown = await fetch(`${registry.url}/v2/me/other/blobs/uploads/?mount=${sha256Bytes("nope")}&from=me/pushed`, { method: "POST" });
    expect(unknown.status).toBe(202);
  });

  test("manifest PUT needs every blob it names; then it reads back byte for byte", async () => {
    const config = await registry.addBlob(JSON.stringify({ model_format: "gguf" }));
    const layer = await registry.addBlob(BLOB);
    const raw = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, ...config },
      layers: [{ mediaType: LAYER_MEDIA_TYPES.model, ...layer }, { mediaType: LAYER_MEDIA_TYPES.system, digest: sha256Bytes("absent"), size: 6 }],
    });
    const put = (body: string) =>
      fetch(`${registry.url}/v2/me/pushed/manifests/latest`, { method: "PUT", body, headers: { "Content-Type": MANIFEST_MEDIA_TYPE } });

    const missing = await put(raw);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      errors: [{ code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown to registry", detail: { digest: sha256Bytes("absent") } }],
    });
    expect(registry.manifest("me/pushed", "latest")).toBeUndefined();
    expect((await put("not json")).status).toBe(400);

    await registry.addBlob("absent");
    const ok = await put(raw);
    expect(ok.status).toBe(201);
    expect(ok.headers.get("docker-content-digest")).toBe(sha256Bytes(raw));
    expect(registry.rawManifest("me/pushed", "latest")).toBe(raw);
    expect(registry.manifest("ME/Pushed", "LATEST")).toEqual(JSON.parse(raw));
    expect(await (await fetch(`${registry.url}/v2/me/pushed/manifests/latest`)).text()).toBe(raw);
    expect(await (await fetch(`${registry.url}/v2/me/pushed/manifests/${sha256Bytes(raw)}`)).text()).toBe(raw);
  });
});

describe("fake registry: bearer auth", () => {
  let registry: FakeRegistry;
  let manifest: Manifest;
  const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

  beforeAll(async () => {
    registry = await startFakeRegistry({ token: "s3cret", tokenEndpoint: { username: "alice", password: "pw" } });
    manifest = await registry.addModel("library/tiny", "v1", { model: MODEL });
  });
  afterAll(() => registry.stop());
  beforeEach(() => registry.reset());

  test("requests without the token get 401 and a Bearer challenge on the registry's own host", async () => {
    const res = await fetch(`${registry.url}/v2/library/tiny/manifests/v1`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer realm="${registry.url}/token",service="fake-registry",scope="repository:library/tiny:pull"`,
    );
    const push = await fetch(`${registry.url}/v2/library/tiny/blobs/uploads/`, { method: "POST", headers: { Authorization: "Bearer wrong" } });
    expect(push.status).toBe(401);
    expect(push.headers.get("www-authenticate")).toEndWith(`scope="repository:library/tiny:pull,push"`);
    const head = await fetch(`${registry.url}/v2/library/tiny/blobs/${manifest.layers[0]!.digest}`, { method: "HEAD" });
    expect(head.status).toBe(401);
  });

  test("the token endpoint wants the Basic credentials, then the token opens the registry", async () => {
    const challenge = (await fetch(`${registry.url}/v2/library/tiny/manifests/v1`)).headers.get("www-authenticate")!;
    const field = (key: string) => new RegExp(`${key}="([^"]*)"`).exec(challenge)![1]!;
    const tokenUrl = new URL(field("realm"));
    tokenUrl.searchParams.set("service", field("service"));
    tokenUrl.searchParams.set("scope", field("scope"));

    expect((await fetch(tokenUrl)).status).toBe(401);
    expect((await fetch(tokenUrl, { headers: { Authorization: basic("alice", "nope") } })).status).toBe(401);
    const granted = await fetch(tokenUrl, { headers: { Authorization: basic("alice", "pw") } });
    expect(granted.status).toBe(200);
    const { token } = (await granted.json()) as { token: string };
    expect(token).toBe("s3cret");

    const ok = await fetch(`${registry.url}/v2/library/tiny/manifests/v1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
  });

  test("fetch following the redirect does not carry Authorization to the CDN host", async () => {
    const digest = manifest.layers[0]!.digest;
    const res = await fetch(`${registry.url}/v2/library/tiny/blobs/${digest}`, { headers: { Authorization: "Bearer s3cret" } });
    expect(res.status).toBe(200);
    expect(res.url).toStartWith(registry.cdnUrl);
    expect(sha256Bytes(new Uint8Array(await res.arrayBuffer()))).toBe(digest);
    const [toRegistry, toCdn] = registry.stats.requests;
    expect(toRegistry?.authorization).toBe("Bearer s3cret");
    expect(toCdn?.server).toBe("cdn");
    expect(toCdn?.authorization).toBeNull();
    expect(registry.stats.cdnSawAuthorization).toBe(false);

    // The CDN needs no auth, and would tell if it got some.
    await fetch(res.url, { headers: { Authorization: "Bearer s3cret" } }).then((r) => r.arrayBuffer());
    expect(registry.stats.cdnSawAuthorization).toBe(true);
  });

  test("without configured credentials the token endpoint is anonymous; without a token there is none", async () => {
    await using anonymous = await startFakeRegistry({ token: "t0k" });
    const res = await fetch(`${anonymous.url}/token?service=fake-registry&scope=repository:library/tiny:pull`);
    expect(((await res.json()) as { token: string }).token).toBe("t0k");
    await using open = await startFakeRegistry();
    expect((await fetch(`${open.url}/token`)).status).toBe(404);
    expect((await fetch(`${open.url}/v2/`)).status).toBe(200);
  });
});

describe("bigBlobFile", () => {
  test("writes N pseudo-random bytes after the GGUF magic, with their digest, served from where it lies", async () => {
    await using registry = await startFakeRegistry();
    const path = join(registry.dir, "big.gguf");
    const size = 9 * 1024 * 1024 + 3;
    const blob = await bigBlobFile(path, size, 7);
    expect(blob.size).toBe(size);
    expect(Bun.file(path).size).toBe(size);
    expect(await Bun.file(path).slice(0, 4).text()).toBe("GGUF");
    expect(await sha256File(path)).toBe(blob.digest);
    expect((await bigBlobFile(`${path}.again`, size, 7)).digest).toBe(blob.digest);
    expect((await bigBlobFile(`${path}.other`, size, 8)).digest).not.toBe(blob.digest);

    const ref = await registry.addBlob({ path, digest: blob.digest });
    expect(ref).toEqual({ digest: blob.digest, size });
    expect(registry.blobPath(blob.digest)).toBe(path);
    const res = await fetch(`${registry.url}/v2/library/big/blobs/${blob.digest}`);
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of res.body!) hasher.update(chunk);
    expect(`sha256:${hasher.digest("hex")}`).toBe(blob.digest);
    expect(registry.stats.served(blob.digest)).toBe(size);
  });
});
