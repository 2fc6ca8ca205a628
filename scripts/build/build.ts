/**
 * Builds Hearth as a single executable that contains the server and the llama.cpp runtime.
 *
 *     bun scripts/build/build.ts [--flavor full|cpu] [--target bun-linux-x64|bun-linux-arm64|bun-darwin-arm64]
 *                                [--entry src/main.ts] [--outfile dist/hearth] [--minify] [--sourcemap]
 *
 * Flavors (which node-llama-cpp platform packages are embedded, see ./plugin.ts):
 *   linux-x64    full: CPU + CUDA (linux-x64-cuda + linux-x64-cuda-ext) + Vulkan -> dist/hearth
 *                cpu:  CPU only (linux-x64)                                       -> dist/hearth-cpu
 *   any host     cpu-native: CPU only, llama.cpp compiled here for this CPU with OpenMP
 *                (./native-runtime.ts; needs cmake and a C++ compiler)           -> dist/hearth[-platform]-cpu-native
 *   linux-arm64  full = cpu: linux-arm64 (node-llama-cpp has no GPU build for it)  -> dist/hearth-linux-arm64[-cpu]
 *   darwin-arm64 full = cpu: mac-arm64-metal (Metal, node-llama-cpp's only macOS arm64 build)
 *                                                                                   -> dist/hearth-darwin-arm64[-cpu]
 * Platform packages for another OS / CPU are not installed by npm; the script prints the command
 * that installs them into .cache/node-llama-cpp-platforms (outside node_modules).
 */
import path from "node:path";
import fs from "node:fs/promises";
import { parseArgs } from "node:util";
import { ensureNativeRuntime } from "./native-runtime.ts";
import {
    assertPluginApplied,
    createPluginState,
    installCommandFor,
    llamaRuntimePlugin,
    MissingPlatformPackageError,
    planLlamaRuntime,
    type LlamaRuntimePlan
} from "./plugin.ts";

export const repoRoot = path.resolve(import.meta.dir, "..", "..");
/** Extra place searched for platform packages npm will not install into node_modules on this machine. */
export const extraPlatformPackagesDir = path.join(repoRoot, ".cache", "node-llama-cpp-platforms");

export type Flavor = "full" | "cpu" | "cpu-native";
export const flavors: readonly Flavor[] = ["full", "cpu", "cpu-native"];
export const supportedTargets = [
    "bun-linux-x64",
    "bun-linux-x64-baseline",
    "bun-linux-x64-modern",
    "bun-linux-arm64",
    "bun-darwin-arm64"
] as const;
export type Target = typeof supportedTargets[number];

export function hostTarget(): Target {
    if (process.platform === "linux" && process.arch === "x64") return "bun-linux-x64";
    if (process.platform === "linux" && process.arch === "arm64") return "bun-linux-arm64";
    if (process.platform === "darwin" && process.arch === "arm64") return "bun-darwin-arm64";
    throw new Error(`No default build target for ${process.platform}-${process.arch}; pass --target`);
}

/** The node-llama-cpp platform packages embedded for a target and flavor. */
export function platformPackagesFor(target: Target, flavor: Flavor): string[] {
    if (target.startsWith("bun-linux-x64"))
        return flavor === "full"
            ? ["linux-x64", "linux-x64-cuda", "linux-x64-cuda-ext", "linux-x64-vulkan"]
            : ["linux-x64"];
    if (target === "bun-linux-arm64")
        return ["linux-arm64"];
    if (target === "bun-darwin-arm64")
        return ["mac-arm64-metal"];
    throw new Error(`Unsupported target ${target}`);
}

export function defaultOutfile(target: Target, flavor: Flavor) {
    const platformSuffix = target.startsWith("bun-linux-x64") ? "" : "-" + target.replace(/^bun-/, "");
    const flavorSuffix = flavor === "full" ? "" : `-${flavor}`;
    return path.join(repoRoot, "dist", `hearth${platformSuffix}${flavorSuffix}`);
}

export interface BuildOptions {
    entry: string;
    flavor?: Flavor;
    target?: Target;
    outfile?: string;
    minify?: boolean;
    sourcemap?: boolean;
    /** Print progress (default true). */
    log?: boolean;
}

export interface BuildResult {
    outfile: string;
    target: Target;
    flavor: Flavor;
    packages: string[];
    sizeBytes: number;
    /** Wall time of the whole build, including hashing the runtime files. */
    ms: number;
    plan: LlamaRuntimePlan;
}

export async function buildExecutable(options: BuildOptions): Promise<BuildResult> {
    const startTime = performance.now();
    const flavor = options.flavor ?? "full";
    const target = options.target ?? hostTarget();
    const entry = path.resolve(options.entry);
    const outfile = path.resolve(options.outfile ?? defaultOutfile(target, flavor));
    const log = options.log === false ? () => {} : (message: string) => console.log(`[build] ${message}`);

    if (!(supportedTargets as readonly string[]).includes(target))
        throw new Error(`Unsupported --target ${target}; use one of: ${supportedTargets.join(", ")}`);
    if (!flavors.includes(flavor))
        throw new Error(`Unsupported --flavor ${flavor}; use ${flavors.join(", ")}`);
    if (flavor === "cpu-native" && target !== hostTarget())
        throw new Error(`--flavor cpu-native compiles llama.cpp for this machine, so its target is ${hostTarget()}`);
    await fs.access(entry).catch(() => {
        throw new Error(`Entry ${entry} does not exist (pass --entry)`);
    });

    const packages = platformPackagesFor(target, flavor);
    log(`target ${target}, flavor ${flavor}: embedding ${packages.map((name) => "@node-llama-cpp/" + name).join(", ")}`);

    const plan = flavor === "cpu-native" ? await planNative(packages, log) : await planWithExtraPackagesDir(packages);
    for (const pkg of plan.packages)
        log(`  @node-llama-cpp/${pkg.name}@${pkg.version}: ${pkg.files.length} files, ${mib(pkg.bytes)}`);
    log(`  runtime payload after de-duplication: ${mib(plan.uniqueBytes)}`);

    const state = createPluginState();
    await fs.mkdir(path.dirname(outfile), { recursive: true });

    const result = await Bun.build({
        entrypoints: [entry],
        compile: {
            target,
            outfile,
            // a server binary should not change behaviour with the bunfig.toml / .env of whatever folder it starts in
            autoloadBunfig: false,
            autoloadDotenv: false
        },
        minify: options.minify ?? false,
        sourcemap: options.sourcemap ? "inline" : "none",
        plugins: [llamaRuntimePlugin(plan, { entry, state })],
        throw: false
    });

    if (!result.success) {
        for (const message of result.logs)
            console.error(message);
        throw new Error("bun build failed");
    }
    assertPluginApplied(state, { entry });

    const sizeBytes = (await fs.stat(outfile)).size;
    const ms = performance.now() - startTime;
    log(`wrote ${path.relative(process.cwd(), outfile) || outfile}: ${mib(sizeBytes)} in ${(ms / 1000).toFixed(1)}s`);
    return { outfile, target, flavor, packages, sizeBytes, ms, plan };
}

/** The cpu-native flavor embeds the runtime compiled here in place of the prebuilt CPU package. */
async function planNative(packages: string[], log: (message: string) => void) {
    const [cpuPackage] = packages;
    if (packages.length !== 1 || cpuPackage === undefined) throw new Error(`the cpu-native flavor embeds one CPU package, not ${packages.join(", ")}`);
    const view = await mergedNodeModulesView(await ensureNativeRuntime(cpuPackage, log));
    try {
        return await planLlamaRuntime({ packages, nodeModulesDir: view });
    } finally {
        await fs.rm(view, { recursive: true, force: true });
    }
}

async function planWithExtraPackagesDir(packages: string[]) {
    try {
        return await planLlamaRuntime({ packages });
    } catch (err) {
        if (!(err instanceof MissingPlatformPackageError))
            throw err;
    }
    // some package is not in node_modules: look in the extra folder (where the suggested command installs it)
    const extraNodeModules = path.join(extraPlatformPackagesDir, "node_modules");
    const view = await mergedNodeModulesView(extraNodeModules);
    try {
        // the plan holds real paths, so the view is not needed after planning
        return await planLlamaRuntime({ packages, nodeModulesDir: view });
    } catch (err) {
        if (err instanceof MissingPlatformPackageError)
            throw new Error(
                `${err.message}.\n` +
                "npm only installs node-llama-cpp's platform packages for the machine it runs on; fetch this one with:\n" +
                `    ${installCommandFor(err.packageName, err.version, path.relative(process.cwd(), extraPlatformPackagesDir) || ".")}\n` +
                "and run the build again (it also looks for platform packages there)."
            );
        throw err;
    } finally {
        await fs.rm(view, { recursive: true, force: true });
    }
}

/**
 * node-llama-cpp itself must come from the project's node_modules while a platform package may come
 * from the extra folder: build a temporary folder of symlinks that has both.
 */
async function mergedNodeModulesView(extraNodeModules: string) {
    const view = path.join(repoRoot, ".cache", "build-node-modules-view"); // gitignored; rebuilt by every build that needs it
    await fs.rm(view, { recursive: true, force: true });
    await fs.mkdir(path.join(view, "@node-llama-cpp"), { recursive: true });
    await fs.symlink(path.join(repoRoot, "node_modules", "node-llama-cpp"), path.join(view, "node-llama-cpp"));
    for (const source of [path.join(extraNodeModules, "@node-llama-cpp"), path.join(repoRoot, "node_modules", "@node-llama-cpp")]) {
        for (const name of await fs.readdir(source).catch(() => [] as string[])) {
            await fs.symlink(path.join(source, name), path.join(view, "@node-llama-cpp", name)).catch((err) => {
                if (err?.code !== "EEXIST") throw err;
            });
        }
    }
    return view;
}

function mib(bytes: number) {
    return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

if (import.meta.main) {
    const { values } = parseArgs({
        args: Bun.argv.slice(2),
        options: {
            flavor: { type: "string", default: "full" },
            target: { type: "string" },
            entry: { type: "string", default: path.join(repoRoot, "src", "main.ts") },
            outfile: { type: "string" },
            minify: { type: "boolean", default: false },
            sourcemap: { type: "boolean", default: false },
            help: { type: "boolean", short: "h", default: false }
        },
        strict: true
    });
    if (values.help) {
        console.log(
            "usage: bun scripts/build/build.ts [--flavor " + flavors.join("|") + "] [--target " + supportedTargets.join("|") + "]\n" +
            "                                  [--entry src/main.ts] [--outfile dist/hearth] [--minify] [--sourcemap]"
        );
        process.exit(0);
    }
    try {
        await buildExecutable({
            entry: path.resolve(values.entry!),
            flavor: values.flavor as Flavor,
            target: values.target as Target | undefined,
            outfile: values.outfile == null ? undefined : path.resolve(values.outfile),
            minify: values.minify,
            sourcemap: values.sourcemap
        });
    } catch (err) {
        console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    }
}
