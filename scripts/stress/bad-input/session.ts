/**
 * Everything a bad-input run needs around the corpus: the sandbox, a local registry for the
 * names pull and push are sent (so that no request leaves this machine), and a real server
 * process, started again after a crash, in the sandbox with a small context so that cases whose
 * values are accepted still answer quickly.
 */
import { rm } from "node:fs/promises";
import { startFakeRegistry, type FakeRegistry } from "../../../test/support/registry/fake-registry.ts";
import { startServer, type TestServer } from "../../../test/support/server.ts";
import { buildCorpus, type Case } from "./corpus.ts";
import type { Target } from "./run.ts";
import { changes, makeSandbox, snapshot, type Sandbox } from "./sandbox.ts";

export interface BadInputSession {
  sandbox: Sandbox;
  target: Target;
  /** every case of the corpus for the running app's routes */
  corpus: Case[];
  /** servers started so far (1 + crashes) */
  starts(): number;
  /** the server's output, across restarts */
  output(): string;
  /** what changed in the sandbox outside the models folder since the session began */
  writesOutsideModels(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openBadInputSession(): Promise<BadInputSession> {
  const sandbox = await makeSandbox(["tiny", "text", "rank"]);
  const registry: FakeRegistry = await startFakeRegistry();
  // With a static key, as a server on a network runs: every case is sent with it, so the keys routes
  // can create keys without turning authentication on midway.
  const apiKey = `stress-${crypto.randomUUID()}`;
  const headers = { authorization: `Bearer ${apiKey}` };
  const start = () =>
    startServer({ models: sandbox.models, cwd: sandbox.root, args: ["--ctx-size", "128", "--parallel", "2", "--ollama-models", "off"], env: { ...process.env, HEARTH_API_KEY: apiKey } as Record<string, string> });
  let server: TestServer = await start();
  let starts = 1;
  let earlierOutput = "";
  const close = async () => {
    await server.stop();
    await registry.stop();
    await rm(sandbox.root, { recursive: true, force: true });
  };
  let before: Map<string, string>;
  let corpus: Case[];
  try {
    before = await snapshot(sandbox);
    const openapi = await (await fetch(`${server.url}/openapi.json`, { headers })).json();
    corpus = buildCorpus(openapi, { sandboxRoot: sandbox.root, registryHost: registry.host });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    sandbox,
    corpus,
    target: {
      url: () => server.url,
      headers,
      async restart() {
        earlierOutput += server.output();
        await server.kill("SIGKILL");
        server = await start();
        starts++;
      },
    },
    starts: () => starts,
    output: () => earlierOutput + server.output(),
    writesOutsideModels: async () => changes(before, await snapshot(sandbox)),
    close,
  };
}
