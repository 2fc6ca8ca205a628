import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BodyParseError, MAX_NESTING, readJsonBody, tooDeep } from "../../src/api/json-body.ts";
import { pointerToParam, QUIET_VALIDATION_MESSAGE, quietValidationErrors } from "../../src/api/validation.ts";
import { Engine } from "../../src/engine/engine.ts";
import { ModelPool } from "../../src/engine/model-pool.ts";
import { loadRuntime } from "../../src/engine/runtime.ts";
import { ModelCatalog } from "../../src/models/catalog.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { Telemetry } from "../../src/observability/telemetry.ts";
import { Library } from "../../src/rag/library.ts";
import { createApp } from "../../src/server/app.ts";
import { memoryDatabase } from "../../src/store/database.ts";

describe("pointerToParam", () => {
  test("turns JSON pointers into OpenAI's dotted param names", () => {
    expect(pointerToParam("/model")).toBe("model");
    expect(pointerToParam("/messages/0/content/2/text")).toBe("messages[0].content[2].text");
    expect(pointerToParam("/response_format/json_schema/a~1b")).toBe("response_format.json_schema.a/b");
    expect(pointerToParam("")).toBe("");
  });
});

describe("bodies nested too deeply", () => {
  const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  test("are found by a scan of the text, naming the field that holds them", () => {
    expect(tooDeep(`{"a":${nest(MAX_NESTING - 1)}}`)).toBeUndefined();
    expect(tooDeep(`{"a":${nest(MAX_NESTING)}}`)).toBe("'a[0][0][0][0][0]…'");
    expect(tooDeep(`{"temperature":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`)).toBe("'temperature.a.a.a.a.a…'");
    // Brackets inside strings, escaped quotes included, are text.
    expect(tooDeep(`{"x":"[[[[\\"[[[","messages":[{"role":"user","content":[1,2,${nest(200)}]}]}`)).toBe("'messages[0].content[2][0][0]…'");
    expect(tooDeep(JSON.stringify({ x: "[".repeat(1000), y: [1, [2, [3]]] }))).toBeUndefined();
  });

  test("are refused before they are parsed", async () => {
    const body = (text: string) => readJsonBody(new Request("http://localhost/", { method: "POST", body: text }));
    await expect(body(`{"model":${nest(10_000)}}`)).rejects.toThrow("The request body is nested too deeply: 'model[0][0][0][0][0]…' holds more than 100 levels");
    // A whole body of brackets costs no more than the scan.
    const started = performance.now();
    await expect(body("[".repeat(30_000_000))).rejects.toBeInstanceOf(BodyParseError);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await body(`{"a":${nest(MAX_NESTING - 1)}}`)).toEqual({ a: JSON.parse(nest(MAX_NESTING - 1)) });
  });
});

describe("a value failing its schema", () => {
  let app: ReturnType<typeof createApp>;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const models = await mkdtemp(join(tmpdir(), "hearth-validation-"));
    const runtime = await loadRuntime("cpu", 1);
    const pool = new ModelPool(runtime.llama, { contextSize: 512, parallel: 1, threads: 1, maxQueue: 0, maxLoadedModels: 1, memoryBudget: 0 });
    const metrics = new Metrics(pool);
    const engine = new Engine(runtime.llama, new ModelCatalog(models), pool);
    const db = memoryDatabase();
    app = createApp(engine, { metrics, telemetry: new Telemetry(metrics) }, db, new Library(engine, db, { dataDir: models, maxFileSize: 0 }));
    close = async () => {
      await runtime.llama.dispose();
      await rm(models, { recursive: true, force: true });
    };
  });
  afterAll(() => close());

  const post = async (path: string, body: string) => {
    const started = performance.now();
    const res = await app.handle(new Request(`http://localhost${path}`, { method: "POST", body, headers: { "content-type": "application/json" } }));
    return { status: res.status, body: await res.json(), ms: performance.now() - started };
  };
  const big = JSON.stringify("x".repeat(10 * 2 ** 20));

  test("is a 400 in each dialect's shape naming the field, 10,000 levels of nesting included", async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const openai = await post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"Hi"}],"temperature":${deep}}`);
    expect(openai.status).toBe(400);
    expect(openai.body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
    expect(openai.body.error.message).toStartWith("The request body is nested too deeply: 'temperature.a.a.a.a.a…'");
    const ollama = await post("/api/chat", `{"model":"m","messages":${"[".repeat(10_000)}${"]".repeat(10_000)}}`);
    expect(ollama.status).toBe(400);
    expect(ollama.body.error).toStartWith("The request body is nested too deeply: 'messages[0][0][0][0][0]…'");
  });

  test("is not rendered into the error: a 10 MB string where a number belongs is refused at once", async () => {
    // Elysia used to render the whole body into its error, pretty-printed, with every error's value.
    const openai = await post("/v1/chat/completions", `{"model":"m","messages":[{"role":"${"x".repeat(100)}","content":"Hi"}],"user":${big},"n":${big}}`);
    expect(openai.status).toBe(400);
    expect(openai.body).toEqual({ error: { message: expect.stringContaining("'messages[0].role'"), type: "invalid_request_error", param: "messages[0].role", code: "invalid_value" } });
    const ollama = await post("/api/generate", `{"model":"m","prompt":"Hi","stream":${big}}`);
    expect(ollama).toMatchObject({ status: 400, body: { error: "Invalid value for 'stream': expected boolean or null." } });
    expect(openai.ms + ollama.ms).toBeLessThan(3_000);
  });

  test("still fails with its message when the app marks the schemas quiet", async () => {
    const failures: string[] = [];
    const small = quietValidationErrors(
      new Elysia().onError(({ error }) => {
        failures.push((error as Error).message);
        return new Response(null, { status: 400 });
      }).post("/", () => "ok", { body: t.Object({ n: t.Number(), s: t.Array(t.String()) }) }),
    );
    const res = await small.handle(new Request("http://localhost/", { method: "POST", body: `{"n":"${"x".repeat(1_000_000)}","s":[1,2,3]}`, headers: { "content-type": "application/json" } }));
    expect(res.status).toBe(400);
    expect(failures).toEqual([QUIET_VALIDATION_MESSAGE]);
  });
});
