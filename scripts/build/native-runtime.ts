/**
 * The `cpu-native` flavor's runtime: llama.cpp compiled on this machine, for this machine, through
 * node-llama-cpp's own source build (`node-llama-cpp source download` / `source build`, CMake
 * options passed as NODE_LLAMA_CPP_CMAKE_OPTION_* as its documentation says), never a fork.
 *
 * What it changes against the prebuilt `@node-llama-cpp/linux-x64` package: ggml's CPU backend
 * is built with `-march=native` (GGML_NATIVE) instead of the closest of its fixed variants
 * (`haswell`, `zen4`, ...), and runs its threads on OpenMP (GGML_OPENMP) instead of ggml's own
 * pool, as llama.cpp's own `llama-server` is built. The README's benchmark section has what each
 * is worth.
 *
 * The build lands in node-llama-cpp's `llama/localBuilds/<platform>-<hash of the options>`, a
 * folder plain `getLlama()` never picks (its name carries the options), so the test suite and
 * `npm start` keep the prebuilt runtime. It is then laid out as a platform package (package.json
 * and `bins/<platform>/`, with the OpenMP runtime library beside ggml, whose RUNPATH is $ORIGIN)
 * that the build plugin embeds in place of the prebuilt one.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";

const repoRoot = path.resolve(import.meta.dir, "..", "..");
const nodeLlamaCppDir = path.join(repoRoot, "node_modules", "node-llama-cpp");
const localBuildsDir = path.join(nodeLlamaCppDir, "llama", "localBuilds");
/** where the runtime is laid out as `node_modules/@node-llama-cpp/<platform>` (gitignored) */
export const nativeRuntimeDir = path.join(repoRoot, ".cache", "node-llama-cpp-native");

export const NATIVE_CMAKE_OPTIONS = { GGML_NATIVE: "ON", GGML_OPENMP: "ON" } as const;

/**
 * Compiles the runtime unless a build with these options is already there, and returns the node_modules folder holding it as `@node-llama-cpp/<platform>`.
 */
export async function ensureNativeRuntime(platform: string, log: (message: string) => void): Promise<string> {
    // node-llama-cpp's macOS package is its Metal build; a CPU-only source build there is not what that package holds
    if (platform !== `${process.platform}-${process.arch}` || process.platform !== "linux")
        throw new Error(`the cpu-native flavor is built on Linux for the machine it runs on (${process.platform}-${process.arch}), not for ${platform}`);
    let release = await findNativeBuild();
    if (release === undefined) {
        const env = { ...process.env, ...Object.fromEntries(Object.entries(NATIVE_CMAKE_OPTIONS).map(([key, value]) => [`NODE_LLAMA_CPP_CMAKE_OPTION_${key}`, value])) };
        log("compiling llama.cpp for this CPU with node-llama-cpp's source build (GGML_NATIVE=ON, GGML_OPENMP=ON); this takes minutes");
        // the release node-llama-cpp ships as a git bundle: no network needed
        run(["source", "download", "--gpu", "false", "--skipBuild", "--noUsageExample"], env);
        run(["source", "build", "--gpu", "false", "--noUsageExample"], env);
        release = await findNativeBuild();
        if (release === undefined) throw new Error(`node-llama-cpp's source build finished, but no build with ${JSON.stringify(NATIVE_CMAKE_OPTIONS)} is under ${localBuildsDir}`);
    }
    log(`native runtime: ${path.relative(repoRoot, release)}`);

    const version: string = JSON.parse(await fs.readFile(path.join(nodeLlamaCppDir, "package.json"), "utf8")).version;
    const packageDir = path.join(nativeRuntimeDir, "node_modules", "@node-llama-cpp", platform);
    const bins = path.join(packageDir, "bins", platform);
    await fs.rm(packageDir, { recursive: true, force: true });
    await fs.mkdir(bins, { recursive: true });
    await fs.writeFile(path.join(packageDir, "package.json"), JSON.stringify({ name: `@node-llama-cpp/${platform}`, version, description: "llama.cpp compiled for this machine by scripts/build/native-runtime.ts" }, null, 2));
    await fs.cp(release, bins, { recursive: true });
    const openmp = openmpLibrary();
    await fs.copyFile(openmp, path.join(bins, path.basename(openmp)));
    return path.join(nativeRuntimeDir, "node_modules");
}

/** The newest `Release` folder of a local build made with exactly NATIVE_CMAKE_OPTIONS. */
async function findNativeBuild(): Promise<string | undefined> {
    const found: Array<{ dir: string; mtimeMs: number }> = [];
    for (const name of await fs.readdir(localBuildsDir).catch(() => [] as string[])) {
        const release = path.join(localBuildsDir, name, "Release");
        const metadata = await fs.readFile(path.join(release, "_nlcBuildMetadata.json"), "utf8").then(JSON.parse, () => undefined);
        const options: Record<string, string> | undefined = metadata?.buildOptions?.customCmakeOptions;
        if (metadata?.buildOptions?.gpu !== false || options === undefined) continue;
        const same = Object.keys(options).length === Object.keys(NATIVE_CMAKE_OPTIONS).length && Object.entries(NATIVE_CMAKE_OPTIONS).every(([key, value]) => options[key] === value);
        if (same) found.push({ dir: release, mtimeMs: (await fs.stat(release)).mtimeMs });
    }
    return found.sort((a, b) => b.mtimeMs - a.mtimeMs)[0]?.dir;
}

/** The OpenMP runtime the compiler links (libgomp for GCC), embedded so the binary needs no compiler packages. */
function openmpLibrary(): string {
    for (const [compiler, library] of [["gcc", "libgomp.so.1"], ["clang", "libomp.so"]] as const) {
        const result = spawnSync(compiler, [`-print-file-name=${library}`], { encoding: "utf8" });
        const file = result.stdout?.trim();
        if (result.status === 0 && file && path.isAbsolute(file)) return file;
    }
    throw new Error("cannot find the OpenMP runtime library (libgomp.so.1) the native build links");
}

function run(args: string[], env: NodeJS.ProcessEnv) {
    const cli = path.join(nodeLlamaCppDir, "dist", "cli", "cli.js");
    // node-llama-cpp's CLI is a Node.js program (it drives cmake-js through npm)
    const result = spawnSync("node", [cli, ...args], { cwd: repoRoot, env, stdio: "inherit" });
    if (result.status !== 0) throw new Error(`node-llama-cpp ${args.join(" ")} failed (exit ${result.status ?? result.signal}); it needs cmake and a C++ compiler`);
}
