#!/usr/bin/env bun
/**
 * Builds a flavor, runs `hearth serve` from an empty folder with no node_modules reachable, asks
 * it for a chat completion and reports the backend it chose and the binary's size. `npm run
 * build:check` checks the full flavor (CPU + CUDA + Vulkan, a 700 MB binary) and the cpu-native
 * one (llama.cpp compiled here, which takes minutes): too heavy for the test suite.
 *
 *   bun scripts/build/check.ts [--flavor full|cpu|cpu-native] [--gpu auto|cuda|vulkan|cpu]
 */
import fs from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureModel, SCRIPTED } from "../gen-model.ts";
import { isolateExecutable } from "../../test/support/executable.ts";
import { startServer } from "../../test/support/server.ts";
import { buildExecutable, defaultOutfile, flavors, hostTarget, repoRoot, type Flavor } from "./build.ts";

const { values } = parseArgs({ options: { gpu: { type: "string", default: "auto" }, flavor: { type: "string", default: "full" } } });
const flavor = values.flavor as Flavor;
if (!flavors.includes(flavor)) throw new Error(`--flavor ${flavor}: use ${flavors.join(", ")}`);
const target = hostTarget();
const started = performance.now();
// the native runtime's compilation is long: show its progress
const build = await buildExecutable({ entry: path.join(repoRoot, "src", "main.ts"), flavor, target, outfile: defaultOutfile(target, flavor), log: flavor === "cpu-native" });
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
  const banner = server.output().trim();
  console.log(banner);
  if (content !== SCRIPTED.text.content) throw new Error(`unexpected answer: ${JSON.stringify(content)}`);
  if (flavor === "cpu-native" && !banner.includes("compiled for this CPU with OpenMP")) throw new Error("the cpu-native binary did not run its own runtime");
  console.log(`${flavor} flavor OK: served a chat completion from an empty folder`);
} finally {
  await server.stop();
  await isolated.cleanup();
}
