/**
 * The single executable (scripts/build/build.ts): builds the CPU flavor of src/main.ts, copies it
 * to a temp folder with no node_modules reachable, and runs `hearth serve` from there against a
 * generated model, extracting the llama.cpp runtime on the first start and reusing it afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { hostTarget, repoRoot } from "../../scripts/build/build.ts";
import { ensureModel, SCRIPTED } from "../../scripts/gen-model.ts";
import { buildOnce, isolateExecutable, runIsolated, type IsolatedExecutable } from "../support/executable.ts";
import { startServer } from "../support/server.ts";
import {
    computeManifestId,
    ensureExtracted,
    hashFile,
    manifestFileName,
    resolveRuntimeDir,
    resolveRuntimeRoot,
    type EmbeddedRuntimeFile
} from "../../src/runtime/embeddedRuntime.ts";

const buildTimeoutMs = 240_000;

describe("embedded runtime extraction", () => {
    let scratch: string;
    let files: EmbeddedRuntimeFile[];

    beforeAll(async () => {
        scratch = await fs.mkdtemp(path.join(os.tmpdir(), "hearth-runtime-test-"));
        const sources = path.join(scratch, "sources");
        await fs.mkdir(sources);
        const contents: [string, string, number][] = [
            ["linux-x64/llama-addon.node", "addon bytes", 0o755],
            ["linux-x64/libggml-base.so", "x".repeat(100_000), 0o644],
            ["linux-x64/_nlcBuildMetadata.json", "{}", 0o600]
        ];
        files = [];
        for (const [relativePath, text, mode] of contents) {
            const source = path.join(sources, relativePath.replaceAll("/", "_"));
            await fs.writeFile(source, text);
            files.push({ path: relativePath, source, size: Buffer.byteLength(text), sha256: await hashFile(source), mode });
        }
    });
    afterAll(() => fs.rm(scratch, { recursive: true, force: true }));

    test("resolves the cache root from HEARTH_RUNTIME_DIR, XDG_CACHE_HOME or HOME", () => {
        expect(resolveRuntimeRoot({ HOME: "/h" })).toBe("/h/.cache/hearth/runtime");
        expect(resolveRuntimeRoot({ HOME: "/h", XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/hearth/runtime");
        expect(resolveRuntimeRoot({ HOME: "/h", XDG_CACHE_HOME: "relative" })).toBe("/h/.cache/hearth/runtime");
        expect(resolveRuntimeRoot({ HOME: "/h", XDG_CACHE_HOME: "/xdg", HEARTH_RUNTIME_DIR: "/opt/rt" })).toBe("/opt/rt");
        expect(resolveRuntimeDir("3.22.1", "linux-x64", { HOME: "/h" })).toBe("/h/.cache/hearth/runtime/3.22.1/linux-x64");
    });

    test("extracts atomically with modes, then reuses without rewriting", async () => {
        const root = path.join(scratch, "root-reuse");
        const first = await ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null });
        expect(first.extracted).toBe(true);
        expect(first.dir).toBe(path.join(root, "1.2.3", "linux-x64"));

        for (const file of files) {
            const stat = await fs.stat(path.join(first.dir, file.path));
            expect(stat.size).toBe(file.size);
            expect(stat.mode & 0o777).toBe(file.mode);
            expect(await hashFile(path.join(first.dir, file.path))).toBe(file.sha256);
        }
        const manifest = JSON.parse(await fs.readFile(path.join(first.dir, manifestFileName), "utf8"));
        expect(manifest.id).toBe(computeManifestId(files));
        // no temp folders left behind
        expect(await fs.readdir(path.join(root, "1.2.3"))).toEqual(["linux-x64"]);

        const before = await fs.stat(path.join(first.dir, files[0]!.path));
        const second = await ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null });
        expect(second.extracted).toBe(false);
        const after = await fs.stat(path.join(first.dir, files[0]!.path));
        expect(after.ino).toBe(before.ino);
        expect(after.mtimeMs).toBe(before.mtimeMs);
    });

    test("re-extracts a damaged or outdated folder", async () => {
        const root = path.join(scratch, "root-damaged");
        const { dir } = await ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null });

        await fs.truncate(path.join(dir, files[1]!.path), 10);
        const repaired = await ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null });
        expect(repaired.extracted).toBe(true);
        expect((await fs.stat(path.join(dir, files[1]!.path))).size).toBe(files[1]!.size);

        await fs.writeFile(path.join(dir, manifestFileName), "{}");
        expect((await ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null })).extracted).toBe(true);
        expect((await fs.readdir(path.join(root, "1.2.3"))).sort()).toEqual(["linux-x64"]);
    });

    test("concurrent first starts all end up with one valid folder", async () => {
        const root = path.join(scratch, "root-concurrent");
        const results = await Promise.all(Array.from({ length: 4 }, () => (
            ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null })
        )));
        expect(new Set(results.map((result) => result.dir)).size).toBe(1);
        expect(await fs.readdir(path.join(root, "1.2.3"))).toEqual(["linux-x64"]);
        expect((await ensureExtracted({ name: "linux-x64", version: "1.2.3", files, root, log: null })).extracted).toBe(false);
    });

    test("refuses to install a file whose content does not match its hash", async () => {
        const root = path.join(scratch, "root-corrupt");
        const corrupt = files.map((file, index) => (index === 0 ? { ...file, sha256: "0".repeat(64) } : file));
        await expect(ensureExtracted({ name: "linux-x64", version: "1.2.3", files: corrupt, root, log: null }))
            .rejects.toThrow(/does not match the embedded one/);
        expect(existsSync(path.join(root, "1.2.3", "linux-x64"))).toBe(false);
        expect(await fs.readdir(path.join(root, "1.2.3"))).toEqual([]);
    });

    test("rejects paths that escape the folder", async () => {
        const root = path.join(scratch, "root-escape");
        for (const badPath of ["../evil.so", "/abs.so", "a//b", manifestFileName]) {
            await expect(ensureExtracted({
                name: "linux-x64", version: "1.2.3", root, log: null, files: [{ ...files[0]!, path: badPath }]
            })).rejects.toThrow(/Invalid embedded runtime file path/);
        }
    });
});

const isLinuxX64 = process.platform === "linux" && process.arch === "x64";

describe.skipIf(!isLinuxX64)("single executable (cpu flavor)", () => {
    let isolated: IsolatedExecutable;
    let buildDir: string;
    let modelsDir: string;
    let nodeLlamaCppVersion: string;

    beforeAll(async () => {
        buildDir = await fs.mkdtemp(path.join(os.tmpdir(), "hearth-build-"));
        const build = await buildOnce({
            entry: path.join(repoRoot, "src", "main.ts"),
            flavor: "cpu",
            target: hostTarget(),
            outfile: path.join(buildDir, "hearth-cpu")
        });
        nodeLlamaCppVersion = build.plan.nodeLlamaCppVersion;
        expect(build.packages).toEqual(["linux-x64"]);

        isolated = await isolateExecutable(build.outfile, "hearth");
        modelsDir = path.join(isolated.dir, "models");
        await fs.mkdir(modelsDir);
        await fs.copyFile(await ensureModel("text"), path.join(modelsDir, "text.gguf"));
    }, buildTimeoutMs);

    afterAll(async () => {
        await isolated?.cleanup();
        if (buildDir != null)
            await fs.rm(buildDir, { recursive: true, force: true });
    });

    const serveIsolated = (env: Record<string, string> = {}) => startServer({
        cli: [isolated.exe], cwd: isolated.dir, env: { ...isolated.env, ...env }, models: modelsDir
    });

    test("--version and --help work without node_modules", async () => {
        const version = await runIsolated(isolated, ["--version"]);
        expect(version.exitCode).toBe(0);
        expect(version.stdout.trim()).toBe(JSON.parse(await fs.readFile(path.join(repoRoot, "package.json"), "utf8")).version);
        const help = await runIsolated(isolated, ["--help"]);
        expect(help.exitCode).toBe(0);
        expect(help.stdout).toContain("--models DIR");
    });

    test("first start extracts the runtime, serves the model and answers a chat completion", async () => {
        const server = await serveIsolated();
        try {
            const res = await fetch(`${server.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "hi" }], temperature: 0 })
            });
            expect(res.status).toBe(200);
            expect((await res.json()).choices[0].message.content).toBe(SCRIPTED.text.content);
            expect(server.output()).toContain(`extracting llama.cpp runtime "linux-x64"`);
            expect(server.output()).toContain("backend CPU");
            // Swagger UI's assets are embedded too: the page works offline.
            const bundle = await fetch(`${server.url}/swagger/assets/swagger-ui-bundle.js`);
            expect(bundle.status).toBe(200);
            expect((await bundle.text()).length).toBeGreaterThan(100_000);
        } finally {
            await server.stop();
        }
        const runtimeDir = isolated.runtimeDir(nodeLlamaCppVersion, "linux-x64");
        expect(existsSync(path.join(runtimeDir, "linux-x64", "llama-addon.node"))).toBe(true);
        expect(existsSync(path.join(runtimeDir, manifestFileName))).toBe(true);
    });

    test("second start reuses the extracted runtime and serves a JSON-schema answer", async () => {
        const addonPath = path.join(isolated.runtimeDir(nodeLlamaCppVersion, "linux-x64"), "linux-x64", "llama-addon.node");
        const before = await fs.stat(addonPath);
        const server = await serveIsolated();
        try {
            expect(server.output()).not.toContain("extracting llama.cpp runtime");
            const res = await fetch(`${server.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ model: "text", messages: [{ role: "user", content: "hi" }], temperature: 0, max_tokens: 16, response_format: { type: "json_object" } })
            });
            expect(res.status).toBe(200);
            expect((await res.json()).choices[0].message.content).toStartWith("{");
        } finally {
            await server.stop();
        }
        const after = await fs.stat(addonPath);
        expect(after.ino).toBe(before.ino);
        expect(after.mtimeMs).toBe(before.mtimeMs);
    });

    test("HEARTH_RUNTIME_DIR moves the runtime cache", async () => {
        const runtimeRoot = path.join(isolated.dir, "custom-runtime");
        const server = await serveIsolated({ HEARTH_RUNTIME_DIR: runtimeRoot });
        await server.stop();
        expect(existsSync(path.join(runtimeRoot, nodeLlamaCppVersion, "linux-x64", "linux-x64", "llama-addon.node"))).toBe(true);
    });
});
