import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SCRIPTED, THINK_EXPECTED } from "../../scripts/gen-model.ts";
import { modelsFolder } from "../support/models.ts";
import { SOURCE_CLI, startServer, type TestServer } from "../support/server.ts";

// `hearth` client commands run as child processes against a real `hearth serve`. The chat
// requests go through a recording proxy, so that the tests can check what the CLI sent (the
// history, think, options) as well as what it printed.

const TIMEOUT = 60_000;
let server: TestServer;
let proxy: ReturnType<typeof Bun.serve>;
let sent: Array<{ path: string; body: any }> = [];

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["text", "think", "endless"]), args: ["--ctx-size", "4096", "--parallel", "2"] });
  proxy = Bun.serve({
    port: 0,
    async fetch(request) {
      const { pathname, search } = new URL(request.url);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text();
      if (body) sent.push({ path: pathname, body: JSON.parse(body) });
      // the client's disconnect reaches the server, as it would without the proxy
      const answer = await fetch(`${server.url}${pathname}${search}`, { method: request.method, headers: request.headers, body, signal: request.signal });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    },
  });
}, TIMEOUT);

afterAll(async () => {
  proxy?.stop(true);
  await server?.stop();
});

const chats = () => sent.filter((r) => r.path === "/api/chat").map((r) => r.body);

interface Cli {
  proc: Bun.Subprocess<"pipe" | "ignore", "pipe", "pipe">;
  stdout(): string;
  /** Resolves once stdout matches, or fails after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  result(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** `hearth ARGS` talking to the proxy (or to `host`), with stdin piped when `input` is given. */
function hearth(args: string[], { input, host, pipe = false }: { input?: string; host?: string; pipe?: boolean } = {}): Cli {
  const env: Record<string, string | undefined> = { ...process.env, HEARTH_HOST: host ?? proxy.url.origin };
  delete env.HEARTH_PORT;
  const proc = Bun.spawn({
    cmd: [...SOURCE_CLI, ...args],
    env,
    stdin: pipe ? "pipe" : input !== undefined ? new Blob([input]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  }) as Cli["proc"];
  let stdout = "";
  let stderr = "";
  const read = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  };
  const reading = Promise.all([read(proc.stdout, (s) => (stdout += s)), read(proc.stderr, (s) => (stderr += s))]);
  return {
    proc,
    stdout: () => stdout,
    async waitFor(pattern, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`stdout never matched ${pattern}:\n${stdout}\nstderr:\n${stderr}`);
        await Bun.sleep(20);
      }
    },
    async result() {
      const code = await proc.exited;
      await reading;
      return { code, stdout, stderr };
    },
  };
}

const run = (args: string[], options?: { input?: string; host?: string }) => hearth(args, options).result();

describe("help", () => {
  test("hearth --help lists the client commands; each has its own --help", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["serve", "service install", "create MODEL", "show MODEL", "run MODEL [PROMPT]", "stop MODEL", "pull MODEL", "push MODEL", "list [PREFIX]", "ps [PREFIX]", "cp SOURCE DESTINATION", "rm MODEL [MODEL...]"]) {
      expect(help.stdout).toContain(`  hearth ${command}`);
    }
    const pull = await run(["pull", "--help"]);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain("Usage:\n  hearth pull MODEL [flags]");
    expect(pull.stdout).toContain("--insecure");
    expect(pull.stdout).toContain("HEARTH_HOST");
  }, TIMEOUT);

  test("wrong arguments are usage errors (exit 2)", async () => {
    const missing = await run(["show"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("show takes 1 argument, got 0");
    const unknown = await run(["list", "--bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--bogus");
  }, TIMEOUT);
});

describe("models", () => {
  test("list (and ls): Ollama's table with 12-digit ids, sizes and ages", async () => {
    const tags = (await (await fetch(`${server.url}/api/tags`)).json()) as { models: Array<{ name: string; digest: string }> };
    const { code, stdout } = await run(["list"]);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split("\n");
    expect(header).toMatch(/^NAME {4,}ID {4,}SIZE {4,}MODIFIED$/);
    expect(rows.map((r) => r.split(/\s{4,}/)[0]).sort()).toEqual(["endless:latest", "text:latest", "think:latest"]);
    for (const row of rows) {
      const [name, id, size, modified] = row.split(/\s{4,}/);
      expect(id).toBe(tags.models.find((m) => m.name === name)!.digest.slice(0, 12));
      expect(size).toMatch(/^\d+(\.\d)? [KMG]?B$/);
      expect(modified).toMatch(/ ago$/);
      // the columns line up under the header
      expect(row.indexOf(id!)).toBe(header!.indexOf("ID"));
    }
    expect((await run(["ls", "TE"])).stdout.trimEnd().split("\n").slice(1).map((r) => r.split(" ")[0])).toEqual(["text:latest"]);
  }, TIMEOUT);

  test("show: Ollama's overview, and one field with each flag", async () => {
    const { code, stdout } = await run(["show", "think"]);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        "  Model",
        "    architecture        qwen3",
        "    parameters          155K",
        "    context length      32768",
        "    embedding length    64",
        "    quantization        F16",
        "",
        "  Capabilities",
        "    completion",
        "    tools",
        "    thinking",
        "",
        "  Parameters",
        '    stop    "<|im_end|>"',
        "",
        "",
      ].join("\n"),
    );
    const field = async (flag: string) => (await run(["show", "think", flag])).stdout;
    expect(await field("--parameters")).toBe('stop                           "<|im_end|>"\n');
    const modelfile = await field("--modelfile");
    expect(modelfile).toContain("\nFROM ");
    expect(modelfile).toContain("\nPARAMETER stop <|im_end|>\n");
    expect(await field("--template")).toContain("<|im_start|>");
    expect(await field("--system")).toBe("");
    expect(await field("--license")).toBe("\n");
    const both = await run(["show", "think", "--system", "--license"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toBe("Error: only one of '--license', '--modelfile', '--parameters', '--system', or '--template' can be specified\n");
  }, TIMEOUT);

  test("cp, then rm", async () => {
    const copied = await run(["cp", "text", "text-copy"]);
    expect(copied).toMatchObject({ code: 0, stdout: "copied 'text' to 'text-copy'\n" });
    expect((await run(["list", "text-copy"])).stdout).toContain("text-copy:latest");
    const removed = await run(["rm", "text-copy"]);
    expect(removed).toMatchObject({ code: 0, stdout: "deleted 'text-copy'\n" });
    expect((await run(["list", "text-copy"])).stdout).not.toContain("text-copy");
  }, TIMEOUT);

  test("ps shows a loaded model until stop unloads it", async () => {
    expect((await run(["run", "text", "Hi"])).code).toBe(0);
    const { code, stdout } = await run(["ps"]);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split("\n");
    expect(header).toMatch(/^NAME {4,}ID {4,}SIZE {4,}PROCESSOR {4,}CONTEXT {4,}UNTIL$/);
    const row = rows.find((r) => r.startsWith("text:latest"));
    expect(row).toMatch(/^text:latest {4,}[0-9a-f]{12} {4,}\d+(\.\d)? [KMG]?B {4,}(100% CPU|100% GPU|\d+%\/\d+% CPU\/GPU) {4,}4096 {4,}\d+ minutes from now$/);

    const stopped = await run(["stop", "text"]);
    expect(stopped).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect((await run(["ps"])).stdout).not.toContain("text:latest");
  }, TIMEOUT);
});

describe("errors", () => {
  test("an unknown model: exit 1 with the server's message", async () => {
    const message = 'Error: model "nope" not found, try pulling it first\n';
    for (const args of [["show", "nope"], ["rm", "nope"], ["cp", "nope", "other"]]) {
      expect(await run(args)).toMatchObject({ code: 1, stdout: "", stderr: message });
    }
    expect(await run(["stop", "nope"])).toMatchObject({ code: 1, stderr: 'Error: couldn\'t find model "nope" to stop\n' });
  }, TIMEOUT);

  test("no server: exit 1, saying where it looked and how to start one", async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response() });
    const host = `127.0.0.1:${closed.port}`;
    closed.stop(true);
    for (const args of [["list"], ["run", "text", "Hi"], ["pull", "text"]]) {
      const { code, stderr } = await run(args, { host });
      expect(code).toBe(1);
      expect(stderr).toBe(`Error: could not connect to hearth server at http://${host}; is it running? start it with \`hearth serve\`\n`);
    }
  }, TIMEOUT);
});

describe("run, one answer", () => {
  test("a prompt: the answer streamed, then a blank line", async () => {
    sent = [];
    expect(await run(["run", "text", "Tell", "me", "a", "story."])).toMatchObject({ code: 0, stdout: `${SCRIPTED.text.content}\n\n`, stderr: "" });
    expect(chats()).toEqual([{ model: "text", messages: [{ role: "user", content: "Tell me a story." }], think: true }]);
  }, TIMEOUT);

  test("thinking is shown as Ollama shows it outside a terminal, on by default for a model that thinks", async () => {
    const { code, stdout } = await run(["run", "think", "Hi"]);
    expect(code).toBe(0);
    expect(stdout).toBe(`Thinking...\n${THINK_EXPECTED.thought}\n...done thinking.\n\n${THINK_EXPECTED.response}\n\n`);
    expect((await run(["run", "think", "--think=false", "Hi"])).stdout).toBe(`${THINK_EXPECTED.response}\n\n`);
    expect((await run(["run", "think", "--hidethinking", "Hi"])).stdout).toBe(`${THINK_EXPECTED.response}\n\n`);
  }, TIMEOUT);

  test("piped text is the prompt, before the prompt's words", async () => {
    sent = [];
    expect((await run(["run", "text"], { input: "Some notes.\n" })).stdout).toBe(`${SCRIPTED.text.content}\n\n`);
    await run(["run", "text", "Summarize:"], { input: "Some notes." });
    expect(chats().map((c) => c.messages[0].content)).toEqual(["Some notes.\n", "Some notes. Summarize:"]);
  }, TIMEOUT);
});

describe("run, a chat on piped stdin (--interactive)", () => {
  test("history, /clear, /set nothink, multi-line messages, /bye", async () => {
    sent = [];
    const input = [
      "/set parameter temperature 0",
      "/set parameter seed 42",
      "Hello",
      "Again",
      "/clear",
      '"""',
      "line one",
      "line two",
      '"""',
      "/set nothink",
      "Bye now",
      "/bye",
      "never read",
    ].join("\n");
    const { code, stdout, stderr } = await run(["run", "think", "--interactive"], { input });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const thought = `Thinking...\n${THINK_EXPECTED.thought}\n...done thinking.\n\n${THINK_EXPECTED.response}\n\n`;
    expect(stdout).toBe(
      [
        ">>> Set parameter 'temperature' to '0'\n",
        ">>> Set parameter 'seed' to '42'\n",
        `>>> ${thought}`,
        `>>> ${thought}`,
        ">>> Cleared session context\n",
        `>>> ... ... ... ${thought}`,
        ">>> Set 'nothink' mode.\n",
        `>>> ${THINK_EXPECTED.response}\n\n`,
        ">>> ",
      ].join(""),
    );

    // the model was looked up, then loaded with the think setting, before the first prompt
    expect(sent.slice(0, 2)).toEqual([
      { path: "/api/show", body: { model: "think" } },
      { path: "/api/generate", body: { model: "think", think: true } },
    ]);
    const options = { temperature: 0, seed: 42 };
    const answer = { role: "assistant", content: THINK_EXPECTED.response, thinking: THINK_EXPECTED.thought };
    const multiLine = { role: "user", content: "\nline one\nline two\n" };
    expect(chats()).toEqual([
      { model: "think", messages: [{ role: "user", content: "Hello" }], think: true, options },
      { model: "think", messages: [{ role: "user", content: "Hello" }, answer, { role: "user", content: "Again" }], think: true, options },
      { model: "think", messages: [multiLine], think: true, options },
      { model: "think", messages: [multiLine, answer, { role: "user", content: "Bye now" }], think: false, options },
    ]);
  }, TIMEOUT);

  test("commands: help, unknown ones, /show, /set system", async () => {
    sent = [];
    const input = ["/?", "/nonsense", "/set nonsense", "/show parameters", "/set system Be brief.", "Hi", "/show system"].join("\n");
    const { code, stdout, stderr } = await run(["run", "text", "-i"], { input });
    expect(code).toBe(0);
    expect(stderr).toContain('Use """ to begin a multi-line message.');
    expect(stdout).toContain(">>> Unknown command '/nonsense'. Type /? for help\n");
    expect(stdout).toContain(">>> Unknown command '/set nonsense'. Type /? for help\n");
    expect(stdout).toContain('>>> Model defined parameters:\n  stop                           "<|im_end|>"\n\n');
    expect(stdout).toContain(">>> Set system message.\n");
    expect(stdout).toContain(">>> Be brief.\n\n");
    // the input ended without /bye: a last newline, exit 0
    expect(stdout).toEndWith(">>> \n");
    expect(chats()).toEqual([
      {
        model: "text",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
        ],
        think: true,
      },
    ]);
  }, TIMEOUT);

  test("Ctrl-C stops the answer, not the chat", async () => {
    sent = [];
    const cli = hearth(["run", "endless", "-i"], { pipe: true });
    const stdin = cli.proc.stdin as import("bun").FileSink;
    stdin.write("/set parameter temperature 0\n/set parameter num_predict 4000\nGo on forever.\n");
    await stdin.flush();
    await cli.waitFor(/( dog){5}/);
    cli.proc.kill("SIGINT");
    // the prompt comes back after the cut answer
    await cli.waitFor(/dog\n\n>>> $/);
    const dogs = cli.stdout().split(" dog").length - 1;
    expect(dogs).toBeLessThan(3900);
    stdin.write("/set parameter num_predict 3\nAgain.\n/bye\n");
    await stdin.flush();
    const { code, stdout } = await cli.result();
    expect(code).toBe(0);
    expect(stdout).toEndWith(">>> Set parameter 'num_predict' to '3'\n>>>  dog dog dog\n\n>>> ");
    // the cancelled turn left the history
    expect(chats().at(-1).messages).toEqual([{ role: "user", content: "Again." }]);
  }, TIMEOUT);
});
