import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../support/chromium.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny"]) });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

test("Swagger UI lists the chat route and 'Try it out' on GET /v1/models shows the model list", async () => {
  const page = await browser.newPage();
  const offline: string[] = [];
  page.on("requestfailed", (r) => offline.push(r.url()));
  await page.goto(`${server.url}/swagger`);
  await page.getByText("/v1/chat/completions").first().waitFor();

  const models = page.locator(".opblock-get", { hasText: "/v1/models" }).first();
  await models.locator(".opblock-summary").click();
  await models.getByRole("button", { name: "Try it out" }).click();
  await models.getByRole("button", { name: "Execute" }).click();
  // The documented example is rendered as code too; only the live table holds the server's answer.
  const body = models.locator(".live-responses-table .response-col_description .microlight").first();
  await body.waitFor();
  const shown = JSON.parse((await body.textContent()) ?? "");
  expect(shown.object).toBe("list");
  expect(shown.data.map((m: { id: string }) => m.id)).toEqual(["tiny"]);
  // Everything the page needs is served by Hearth itself.
  expect(offline).toEqual([]);
}, 120_000);
