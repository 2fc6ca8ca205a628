import { afterAll, beforeAll, expect, test } from "bun:test";
import { rssGrowth, soak } from "../../scripts/stress/soak.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// The short soak: a few rounds of every request in the catalog. `npm run stress` runs 5,000 and
// holds the server's resident memory to 10% between request 500 and the end; this many requests
// are still warming the server up (its memory grows for the first few hundred), so the bound here
// only catches a gross leak, such as a context or a model kept per request.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["text", "tiny"]), args: ["--parallel", "4"] });
});

afterAll(async () => {
  await server?.stop();
});

test("short requests over every dialect and route get their expected answers, and memory stays put", async () => {
  const report = await soak({ url: server.url, pid: server.pid, requests: 160, concurrency: 8, baselineAfter: 40, window: 40, trendEvery: 40, models: { chat: "text", embed: "tiny" } });
  expect(report.failures).toEqual([]);
  expect(report.requests).toBe(160);
  // Every request of the catalog ran, each answered as it expects.
  for (const statuses of Object.values(report.statuses)) expect(Object.keys(statuses)).toHaveLength(1);
  expect(Object.keys(report.statuses).length).toBeGreaterThan(20);
  expect(rssGrowth(report)).toBeLessThan(0.25);
});
