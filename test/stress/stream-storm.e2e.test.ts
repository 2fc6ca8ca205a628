import { afterAll, beforeAll, expect, test } from "bun:test";
import { settle } from "../../scripts/stress/server-state.ts";
import { streamStorm, tally } from "../../scripts/stress/stream-storm.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Four sequences per model and a short queue: most clients wait, some are refused, a third hang up.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["endless", "text", "tiny"]), args: ["--parallel", "4", "--max-queue", "12", "--ctx-size", "512"] });
});

afterAll(async () => {
  await server?.stop();
});

test("64 streams, a third hanging up at random: each completes, is cancelled or refused; afterwards every sequence is idle", async () => {
  const seed = Number(process.env.HEARTH_STRESS_SEED ?? Date.now() % 2 ** 31);
  const results = await streamStorm({ url: server.url, clients: 64, hangUpShare: 1 / 3, maxTokens: 12, models: ["endless", "text", "tiny"], seed, hangUpWindowMs: 3_000 });
  const { outcomes, byRoute } = tally(results);
  console.log(`seed ${seed}:`, JSON.stringify(outcomes), JSON.stringify(byRoute));
  expect(results.filter((r) => r.outcome === "failed")).toEqual([]);
  expect(outcomes.cancelled).toBeGreaterThan(0);
  expect(outcomes.completed).toBeGreaterThan(0);
  const settled = await settle(server.url);
  expect(settled).toMatchObject({ queueDepth: 0, busySequences: 0, heldModels: [] });
  expect(settled.loadedModels.sort()).toEqual(["endless:latest", "text:latest", "tiny:latest"]);
});

// A client hanging up while the stream pump awaits the next chunk closes the stream under it; the
// chunk must not then go to the closed controller ("Controller is already closed"), logged as an
// internal error and answered with an error event that fails again.
test("clients hanging up mid-stream leave no internal error in the log", async () => {
  await streamStorm({ url: server.url, clients: 12, hangUpShare: 1, maxTokens: 64, models: ["endless"], seed: 1, hangUpWindowMs: 0 });
  await settle(server.url);
  expect(server.output()).not.toContain("internal error");
});
