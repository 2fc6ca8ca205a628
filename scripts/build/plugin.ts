/**
 * Bun build plugin that makes node-llama-cpp work inside a `bun build --compile` executable.
 *
 * node-llama-cpp finds its native runtime by dynamically importing a per-platform package
 * (`@node-llama-cpp/linux-x64`, `-cuda`, `-cuda-ext`, `-vulkan`, `mac-arm64-metal`, ...; see
 * `getPrebuiltBinariesPackageDirectoryForBuildOptions` in node-llama-cpp's
 * `dist/bindings/utils/compileLLamaCpp.js`) and calling its `getBinsDir()`. This plugin:
 *
 * 1. Resolves every `@node-llama-cpp/<platform>` import:
 *    - packages of the chosen flavor -> a generated shim that embeds each file of the
 *      package's `bins/` folder (`import f from "..." with { type: "file" }`), extracts them
 *      on first use through `src/runtime/embeddedRuntime.ts` and returns
 *      `{ binsDir, packageVersion }` exactly like the real package;
 *    - every other platform package -> an empty module. node-llama-cpp then sees no
 *      `getBinsDir` and treats the package as absent ("A prebuilt binary was not found,
 *      falling back to ..."), just as when the optional dependency is not installed.
 * 2. Rewrites the node-llama-cpp modules that read files of its own package at run time
 *    (its `package.json` version, `llama/binariesGithubRelease.json`, `llama/grammars/`),
 *    so they work without node_modules, and disables every path that could try to build
 *    llama.cpp from source (cmake / git), whatever `build` option the app passes.
 * 3. Keeps node-llama-cpp's binary compatibility test working: it forks its own module
 *    file, which does not exist in an executable, so the test is pointed at the executable
 *    itself and a guard module, imported first by the entry point, turns such a child
 *    process into the test worker before any app code runs.
 *
 * Every rewrite checks that the code it replaces is still there, so an upgrade of
 * node-llama-cpp that changes those internals fails the build instead of the binary.
 */
import type { BunPlugin, PluginBuilder } from "bun";
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, realpathSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

const repoRoot = path.resolve(import.meta.dir, "..", "..");
const embeddedRuntimeModulePath = path.join(repoRoot, "src", "runtime", "embeddedRuntime.ts");

/** Every platform package node-llama-cpp 3.x may import (from `getPrebuiltBinariesPackageDirectoryForBuildOptions`). */
export const knownPlatformPackages = [
    "mac-arm64-metal",
    "mac-x64",
    "linux-x64",
    "linux-x64-cuda",
    "linux-x64-cuda-ext",
    "linux-x64-vulkan",
    "linux-arm64",
    "linux-armv7l",
    "linux-riscv64",
    "win-x64",
    "win-x64-cuda",
    "win-x64-cuda-ext",
    "win-x64-vulkan",
    "win-arm64"
] as const;

export interface LlamaRuntimePluginOptions {
    /** Platform packages to embed, by short name (`linux-x64`, `linux-x64-cuda`, ...). */
    packages: readonly string[];
    /**
     * The build's entry point. The binding-test guard is imported at its top; without it,
     * node-llama-cpp's binary test is skipped (with a warning) instead of run.
     */
    entry?: string;
    /** Folder containing `node-llama-cpp` and `@node-llama-cpp/*` (default: the repo's node_modules). */
    nodeModulesDir?: string;
}

export interface EmbeddedPackageInfo {
    name: string;
    version: string;
    dir: string;
    files: PlannedFile[];
    bytes: number;
}

interface PlannedFile {
    path: string;
    absolutePath: string;
    size: number;
    sha256: string;
    mode: number;
}

export interface LlamaRuntimePlan {
    nodeLlamaCppDir: string;
    nodeLlamaCppVersion: string;
    packages: EmbeddedPackageInfo[];
    grammars: PlannedFile[];
    /** Bytes embedded after de-duplicating identical files across packages. */
    uniqueBytes: number;
}

/** Reads and hashes everything that will be embedded. Throws with install instructions when a package is missing. */
export async function planLlamaRuntime(options: LlamaRuntimePluginOptions): Promise<LlamaRuntimePlan> {
    const nodeModulesDir = options.nodeModulesDir ?? path.join(repoRoot, "node_modules");
    const nodeLlamaCppDir = realpathSync(path.join(nodeModulesDir, "node-llama-cpp"));
    const nodeLlamaCppVersion: string = JSON.parse(await fs.readFile(path.join(nodeLlamaCppDir, "package.json"), "utf8")).version;

    const packages: EmbeddedPackageInfo[] = [];
    for (const name of options.packages) {
        if (!(knownPlatformPackages as readonly string[]).includes(name))
            throw new Error(`Unknown node-llama-cpp platform package "@node-llama-cpp/${name}"`);

        const dir = await findPackageDir(name, nodeModulesDir, nodeLlamaCppDir);
        if (dir == null)
            throw new MissingPlatformPackageError(name, nodeLlamaCppVersion);

        const version: string = JSON.parse(await fs.readFile(path.join(dir, "package.json"), "utf8")).version;
        if (version !== nodeLlamaCppVersion)
            // node-llama-cpp silently ignores a platform package whose version differs from its own
            throw new Error(
                `@node-llama-cpp/${name} at ${dir} is version ${version} but node-llama-cpp is ${nodeLlamaCppVersion} ` +
                `(node-llama-cpp would ignore it); install @node-llama-cpp/${name}@${nodeLlamaCppVersion}`
            );

        const files = await planFolder(path.join(dir, "bins"));
        if (!files.some((file) => file.path.endsWith(".node")) && !name.endsWith("-ext"))
            throw new Error(`@node-llama-cpp/${name} has no .node addon under ${path.join(dir, "bins")}`);

        packages.push({ name, version, dir, files, bytes: files.reduce((sum, file) => sum + file.size, 0) });
    }

    const grammars = (await planFolder(path.join(nodeLlamaCppDir, "llama", "grammars")))
        .filter((file) => file.path.endsWith(".gbnf"));

    const seen = new Set<string>();
    let uniqueBytes = 0;
    for (const file of [...packages.flatMap((pkg) => pkg.files), ...grammars]) {
        if (seen.has(file.sha256))
            continue;
        seen.add(file.sha256);
        uniqueBytes += file.size;
    }

    return { nodeLlamaCppDir, nodeLlamaCppVersion, packages, grammars, uniqueBytes };
}

export class MissingPlatformPackageError extends Error {
    constructor(public readonly packageName: string, public readonly version: string) {
        super(`@node-llama-cpp/${packageName}@${version} is not installed, so it cannot be embedded`);
        this.name = "MissingPlatformPackageError";
    }
}

/**
 * The command that fetches a platform package for another OS / CPU into `prefix` (`<prefix>/node_modules/...`).
 * `--force` overrides npm's os/cpu check for the named package; installing into a separate prefix
 * keeps npm from re-resolving (and pruning) the optional dependencies of the project's node_modules.
 */
export function installCommandFor(packageName: string, version: string, prefix: string) {
    return `npm install --prefix ${prefix} --no-save --no-package-lock --force @node-llama-cpp/${packageName}@${version}`;
}

/** What the plugin did during a build, for the build script to check afterwards. */
export interface LlamaRuntimePluginState {
    /** node-llama-cpp files that must be rewritten whenever node-llama-cpp is part of the bundle. */
    expectedPatches: string[];
    appliedPatches: Set<string>;
    resolvedPackages: Set<string>;
    guardInjected: boolean;
}

/**
 * The Bun plugin. Call {@link planLlamaRuntime} first (the build script does, to report sizes).
 * Pass `state` to check afterwards that every rewrite happened ({@link assertPluginApplied}).
 */
export function llamaRuntimePlugin(
    plan: LlamaRuntimePlan,
    options: Pick<LlamaRuntimePluginOptions, "entry"> & { state?: LlamaRuntimePluginState } = {}
): BunPlugin {
    const embedded = new Map(plan.packages.map((pkg) => [pkg.name, pkg]));
    const nlcDist = path.join(plan.nodeLlamaCppDir, "dist");
    const entry = options.entry == null ? undefined : realpathSync(path.resolve(options.entry));
    const testBindingBinaryPath = path.join(nlcDist, "bindings", "utils", "testBindingBinary.js");

    // identical files (e.g. the CPU backends shared by the CPU, CUDA and Vulkan packages) are embedded once
    const canonicalFileForHash = new Map<string, string>();
    for (const file of [...plan.packages.flatMap((pkg) => pkg.files), ...plan.grammars])
        if (!canonicalFileForHash.has(file.sha256))
            canonicalFileForHash.set(file.sha256, file.absolutePath);

    const patches = new Map<string, (source: string) => string>([
        [path.join(nlcDist, "utils", "getModuleVersion.js"), () => (
            `export async function getModuleVersion() {\n    return ${JSON.stringify(plan.nodeLlamaCppVersion)};\n}\n`
        )],
        [path.join(nlcDist, "bindings", "utils", "binariesGithubRelease.js"), (source) => {
            const release = readJsonSync(path.join(plan.nodeLlamaCppDir, "llama", "binariesGithubRelease.json")).release;
            source = replaceOnce(source, "const binariesGithubRelease = await fs.readJson(binariesGithubReleasePath);",
                `const binariesGithubRelease = { release: ${JSON.stringify(release)} };`);
            return replaceOnce(source, "export async function setBinariesGithubRelease(release) {",
                "export async function setBinariesGithubRelease(release) {\n    throw new Error(\"hearth: node-llama-cpp's files are read-only in the executable\");");
        }],
        [path.join(nlcDist, "bindings", "getLlama.js"), (source) => {
            // never build from source, even if the app passes `build: "auto"`
            source = replaceRegexOnce(source, /const defaultBuildOption = runningInElectron\s*\?\s*"never"\s*:\s*"auto";/,
                'const defaultBuildOption = "never";');
            return replaceOnce(source, 'const canBuild = build !== "never" &&', 'const canBuild = false && build !== "never" &&');
        }],
        [path.join(nlcDist, "bindings", "utils", "compileLLamaCpp.js"), (source) => replaceOnce(source,
            "export async function compileLlamaCpp(buildOptions, compileOptions) {",
            "export async function compileLlamaCpp(buildOptions, compileOptions) {\n" +
            "    throw new Error(\"hearth: building llama.cpp from source is not supported in the single executable\");"
        )],
        [path.join(nlcDist, "bindings", "utils", "cloneLlamaCppRepo.js"), (source) => replaceOnce(source,
            "export async function cloneLlamaCppRepo(githubOwner, githubRepo, tag, useBundles = true, progressLogs = \"stderr\", recursive = enableRecursiveClone) {",
            "export async function cloneLlamaCppRepo(githubOwner, githubRepo, tag, useBundles = true, progressLogs = \"stderr\", recursive = enableRecursiveClone) {\n" +
            "    throw new Error(\"hearth: cloning llama.cpp is not supported in the single executable\");"
        )],
        [testBindingBinaryPath, (source) => {
            // node-llama-cpp forks this very file to test a binary in a child process. In the executable it
            // forks the executable (process.execPath) instead, and the guard below handles the child.
            source = replaceOnce(source, "const __filename = fileURLToPath(import.meta.url);",
                'const __filename = "testBindingBinary.js";');
            if (entry == null)
                // no guard: let node-llama-cpp skip the test (it warns) rather than start a second copy of the app
                source = replaceOnce(source, "const detectedFileName = path.basename(__filename);",
                    'const detectedFileName = "bundled";');
            return source;
        }],
        [path.join(nlcDist, "utils", "getGrammarsFolder.js"), () => generateGrammarsModule(plan, canonicalFileForHash)]
    ]);

    const state = options.state ?? createPluginState();
    state.expectedPatches = [...patches.keys()];
    const appliedPatches = state.appliedPatches;

    return {
        name: "hearth-llama-runtime",
        setup(build: PluginBuilder) {
            build.onResolve({ filter: /^@node-llama-cpp\// }, (args) => {
                const name = args.path.slice("@node-llama-cpp/".length);
                state.resolvedPackages.add(name);
                return embedded.has(name)
                    ? { path: name, namespace: "hearth-llama-bins" }
                    : { path: name, namespace: "hearth-llama-absent" };
            });

            build.onLoad({ filter: /.*/, namespace: "hearth-llama-bins" }, (args) => ({
                contents: generatePackageShim(embedded.get(args.path)!, plan.nodeLlamaCppVersion, canonicalFileForHash),
                loader: "js"
            }));

            build.onLoad({ filter: /.*/, namespace: "hearth-llama-absent" }, (args) => ({
                contents: `// @node-llama-cpp/${args.path} is not part of this build: no getBinsDir(), so node-llama-cpp treats it as not installed\nexport {};\n`,
                loader: "js"
            }));

            build.onResolve({ filter: /^hearth-runtime:binding-test-guard$/ }, () => ({
                path: "binding-test-guard",
                namespace: "hearth-runtime"
            }));
            build.onLoad({ filter: /.*/, namespace: "hearth-runtime" }, () => ({
                contents: [
                    "// node-llama-cpp tests a binary in a child process before loading it. In the executable that child is",
                    "// the executable itself, started with TEST_BINDING_CP=true and an IPC channel: run the test worker",
                    "// and never let the app's own code start in it (the worker exits the process when done).",
                    'if (process.env.TEST_BINDING_CP === "true" && (typeof process.send === "function" || process.parentPort != null)) {',
                    `    await import(${JSON.stringify(testBindingBinaryPath)});`,
                    "    await new Promise(() => {});",
                    "}",
                    ""
                ].join("\n"),
                loader: "js"
            }));

            const patchedFilesFilter = new RegExp(`^(?:${[...patches.keys()].map(escapeRegex).join("|")})$`);
            build.onLoad({ filter: patchedFilesFilter }, async (args) => {
                const patch = patches.get(args.path)!;
                appliedPatches.add(args.path);
                return { contents: patch(await fs.readFile(args.path, "utf8")), loader: "js" };
            });

            if (entry != null) {
                build.onLoad({ filter: new RegExp(`^${escapeRegex(entry)}$`) }, async (args) => {
                    const source = await fs.readFile(args.path, "utf8");
                    const shebang = source.startsWith("#!") ? source.slice(0, source.indexOf("\n") + 1) : "";
                    state.guardInjected = true;
                    return {
                        contents: `${shebang}import "hearth-runtime:binding-test-guard";\n${source.slice(shebang.length)}`,
                        loader: loaderForPath(args.path)
                    };
                });
            }
        }
    };
}

export function createPluginState(): LlamaRuntimePluginState {
    return { expectedPatches: [], appliedPatches: new Set(), resolvedPackages: new Set(), guardInjected: false };
}

/** Throws unless the bundle went through every rewrite (i.e. node-llama-cpp was bundled and is still laid out as expected). */
export function assertPluginApplied(state: LlamaRuntimePluginState, { entry }: { entry?: string } = {}) {
    const missing = state.expectedPatches.filter((file) => !state.appliedPatches.has(file));
    if (missing.length > 0)
        throw new Error(
            "hearth-llama-runtime plugin: these node-llama-cpp files were not bundled, so they were not rewritten " +
            `(is node-llama-cpp imported by the entry? did its layout change?):\n  ${missing.join("\n  ")}`
        );
    if (state.resolvedPackages.size === 0)
        throw new Error("hearth-llama-runtime plugin: no @node-llama-cpp/* import went through the plugin");
    if (entry != null && !state.guardInjected)
        throw new Error(`hearth-llama-runtime plugin: the binding-test guard was not injected into ${entry}`);
}

function generatePackageShim(pkg: EmbeddedPackageInfo, nodeLlamaCppVersion: string, canonicalFileForHash: Map<string, string>) {
    const { imports, entries } = embedFiles(pkg.files, canonicalFileForHash);
    return [
        `// generated by scripts/build/plugin.ts: @node-llama-cpp/${pkg.name}@${pkg.version} (${pkg.files.length} files, ${pkg.bytes} bytes)`,
        `import { ensureExtracted } from ${JSON.stringify(embeddedRuntimeModulePath)};`,
        ...imports,
        "",
        "let dir;",
        "try {",
        `    ({ dir } = await ensureExtracted({`,
        `        name: ${JSON.stringify(pkg.name)},`,
        `        version: ${JSON.stringify(nodeLlamaCppVersion)},`,
        `        files: [\n${entries.join(",\n")}\n        ]`,
        "    }));",
        "} catch (err) {",
        "    // node-llama-cpp swallows errors of this import (it treats the package as absent), so say why here",
        "    process.stderr.write(`[hearth] ${err?.message ?? err}\\n`);",
        "    throw err;",
        "}",
        "",
        "export function getBinsDir() {",
        "    return {",
        "        binsDir: dir,",
        `        packageVersion: ${JSON.stringify(pkg.version)}`,
        "    };",
        "}",
        ""
    ].join("\n");
}

function generateGrammarsModule(plan: LlamaRuntimePlan, canonicalFileForHash: Map<string, string>) {
    const { imports, entries } = embedFiles(plan.grammars, canonicalFileForHash);
    return [
        "// generated by scripts/build/plugin.ts: node-llama-cpp's llama/grammars, extracted on first use",
        `import { ensureExtracted } from ${JSON.stringify(embeddedRuntimeModulePath)};`,
        ...imports,
        "",
        "let grammarsFolderPromise = null;",
        "export async function getGrammarsFolder(buildType) {",
        "    void buildType;",
        "    grammarsFolderPromise ??= ensureExtracted({",
        '        name: "grammars",',
        `        version: ${JSON.stringify(plan.nodeLlamaCppVersion)},`,
        `        files: [\n${entries.join(",\n")}\n        ],`,
        "        log: null",
        "    }).then((result) => result.dir);",
        "    try {",
        "        return await grammarsFolderPromise;",
        "    } catch (err) {",
        "        grammarsFolderPromise = null;",
        "        throw err;",
        "    }",
        "}",
        ""
    ].join("\n");
}

function embedFiles(files: readonly PlannedFile[], canonicalFileForHash: Map<string, string>) {
    const importNames = new Map<string, string>();
    const imports: string[] = [];
    const entries = files.map((file) => {
        const source = canonicalFileForHash.get(file.sha256) ?? file.absolutePath;
        let importName = importNames.get(source);
        if (importName == null) {
            importName = `embedded${importNames.size}`;
            importNames.set(source, importName);
            imports.push(`import ${importName} from ${JSON.stringify(source)} with { type: "file" };`);
        }
        return `        { path: ${JSON.stringify(file.path)}, source: ${importName}, size: ${file.size}, ` +
            `sha256: ${JSON.stringify(file.sha256)}, mode: 0o${file.mode.toString(8)} }`;
    });
    return { imports, entries };
}

async function findPackageDir(name: string, nodeModulesDir: string, nodeLlamaCppDir: string) {
    for (const candidate of [
        path.join(nodeModulesDir, "@node-llama-cpp", name),
        path.join(nodeLlamaCppDir, "node_modules", "@node-llama-cpp", name)
    ]) {
        try {
            await fs.access(path.join(candidate, "package.json"));
            return realpathSync(candidate);
        } catch {
            // try the next one
        }
    }
    return null;
}

async function planFolder(folder: string): Promise<PlannedFile[]> {
    const files: PlannedFile[] = [];
    async function walk(dir: string) {
        const entries = await fs.readdir(dir, { withFileTypes: true });
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const entry of entries) {
            const absolutePath = path.join(dir, entry.name);
            if (entry.isDirectory())
                await walk(absolutePath);
            else if (entry.isFile() || entry.isSymbolicLink()) {
                const stat = await fs.stat(absolutePath);
                if (!stat.isFile())
                    continue;
                files.push({
                    path: path.relative(folder, absolutePath).split(path.sep).join("/"),
                    absolutePath: realpathSync(absolutePath),
                    size: stat.size,
                    sha256: await sha256File(absolutePath),
                    mode: stat.mode & 0o777
                });
            }
        }
    }
    await walk(folder);
    return files;
}

async function sha256File(filePath: string) {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(filePath, { highWaterMark: 8 * 1024 * 1024 }))
        hash.update(chunk as Buffer);
    return hash.digest("hex");
}

function replaceOnce(source: string, search: string, replacement: string) {
    const index = source.indexOf(search);
    if (index < 0 || source.indexOf(search, index + 1) >= 0)
        throw new Error(`hearth-llama-runtime plugin: expected exactly one ${JSON.stringify(search)} in node-llama-cpp; did it change?`);
    return source.slice(0, index) + replacement + source.slice(index + search.length);
}

function replaceRegexOnce(source: string, search: RegExp, replacement: string) {
    const matches = source.match(new RegExp(search.source, "g"));
    if (matches == null || matches.length !== 1)
        throw new Error(`hearth-llama-runtime plugin: expected exactly one match of ${search} in node-llama-cpp; did it change?`);
    return source.replace(search, replacement);
}

function readJsonSync(filePath: string) {
    return JSON.parse(readFileSync(filePath, "utf8"));
}

function escapeRegex(text: string) {
    return text.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
}

function loaderForPath(filePath: string): "ts" | "tsx" | "js" | "jsx" {
    const ext = path.extname(filePath);
    if (ext === ".tsx") return "tsx";
    if (ext === ".jsx") return "jsx";
    if (ext === ".ts" || ext === ".mts" || ext === ".cts") return "ts";
    return "js";
}
