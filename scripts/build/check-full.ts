#!/usr/bin/env bun
/**
 * Builds the full flavor (CPU + CUDA + Vulkan), runs `hearth serve` from an empty folder with no
 * node_modules reachable, asks it for a chat completion and reports the backend it chose and the
 * binary's size. `npm run build:check`; too heavy for the test suite (a 700 MB binary).
 *
 *   bun scripts/build/check-full.ts [--gpu auto|cuda|vulkan|cpu]
 */
import fs from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureModel, SCRIPTED } from "../gen-model.ts";
import { isolateExecutable } from "../../test/support/executable.ts";
import { startServer } from "../../test/support/server.ts";
import { buildExecutable, defaultOutfile, hostTarget, repoRoot } from "./build.ts";

const { values } = parseArgs({ options: { gpu: { type: "string", default: "auto" } } });
const target = hostTarget();
const started = performance.now();
const build = await buildExecutable({ entry: path.join(repoRoot, "src", "main.ts"), flavor: "full", target, outfile: defaultOutfile(target, "full"), log: false });
console.log(`built ${build.outfile} (${(build.sizeBytes / 2 ** 20).toFixed(1)} MiB, ${build.packages.join(", ")}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const isolated = await isolateExecutable(build.outfile, "hearth");
const models = path.join(isolated.dir, "models");
await fs.mkdir(models);
await fs.copyFile(await ensureModel("text"), path.join(models, "text.gguf"));
const server = await startServer({ cli: [isolated.exe], cwd: isolated.dir, env: isolated.env, models, args: ["--gpu", values.gpu!] });
try {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "hi" }], temperature: 0 }),
  });
  const content = (await res.json()).choices?.[0]?.message?.content;
  console.log(server.output().trim());
  if (content !== SCRIPTED.text.content) throw new Error(`unexpected answer: ${JSON.stringify(content)}`);
  console.log("full flavor OK: served a chat completion from an empty folder");
} finally {
  await server.stop();
  await isolated.cleanup();
}
