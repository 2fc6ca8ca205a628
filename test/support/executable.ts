/**
 * Helpers for tests that build the single executable and run it away from the repository
 * (no node_modules reachable), e.g. test/build/single-executable.test.ts.
 */
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildExecutable, type BuildOptions, type BuildResult } from "../../scripts/build/build.ts";

const builds = new Map<string, Promise<BuildResult>>();

/** Builds once per process for the same options (tests in several files can share a build). */
export function buildOnce(options: BuildOptions): Promise<BuildResult> {
    const key = JSON.stringify({ ...options, entry: path.resolve(options.entry) });
    let build = builds.get(key);
    if (build == null) {
        build = buildExecutable({ log: false, ...options });
        builds.set(key, build);
        build.catch(() => builds.delete(key));
    }
    return build;
}

export interface IsolatedExecutable {
    /** Temp folder holding the executable; also the working directory for {@link runIsolated}. */
    dir: string;
    /** Absolute path of the copied executable. */
    exe: string;
    /** HOME of the runs, so the runtime is extracted to `<home>/.cache/hearth/runtime`. */
    home: string;
    /** Environment for the runs: HOME = {@link home}, no runtime-dir or node-path overrides. */
    env: Record<string, string>;
    /** Where the llama.cpp runtime of `version` is (or will be) extracted. */
    runtimeDir(version: string, name?: string): string;
    /** Copies a file (e.g. a model) into {@link dir}; returns its new absolute path. */
    copyIn(file: string, name?: string): Promise<string>;
    cleanup(): Promise<void>;
}

/** Copies an executable into a fresh temp folder that has no node_modules in it or in any parent folder. */
export async function isolateExecutable(executable: string, name = path.basename(executable)): Promise<IsolatedExecutable> {
    const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "hearth-exe-")));
    assertNoNodeModulesReachable(dir);

    const exe = path.join(dir, name);
    await fs.copyFile(executable, exe);
    await fs.chmod(exe, 0o755);
    const home = path.join(dir, "home");
    await fs.mkdir(home);

    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
        if (value == null || /^(NODE_PATH|NODE_OPTIONS|BUN_.*|HEARTH_.*|XDG_CACHE_HOME|NODE_LLAMA_CPP_.*|TEST_BINDING_CP)$/.test(key))
            continue;
        env[key] = value;
    }
    env.HOME = home;
    env.PATH = "/usr/local/bin:/usr/bin:/bin";

    return {
        dir,
        exe,
        home,
        env,
        runtimeDir: (version, runtimeName = "") => path.join(home, ".cache", "hearth", "runtime", version, runtimeName),
        async copyIn(file, fileName = path.basename(file)) {
            const destination = path.join(dir, fileName);
            await fs.copyFile(file, destination);
            return destination;
        },
        cleanup: () => fs.rm(dir, { recursive: true, force: true })
    };
}

export function assertNoNodeModulesReachable(dir: string) {
    for (let current = path.resolve(dir); ; current = path.dirname(current)) {
        if (existsSync(path.join(current, "node_modules")))
            throw new Error(`${path.join(current, "node_modules")} exists, so ${dir} is not isolated from node_modules`);
        if (path.dirname(current) === current)
            return;
    }
}

export interface RunResult {
    exitCode: number | null;
    stdout: string;
    stderr: string;
    ms: number;
}

/** Runs the isolated executable in its folder and collects its output. */
export async function runIsolated(
    isolated: IsolatedExecutable,
    args: string[],
    { env = {}, timeoutMs = 120_000 }: { env?: Record<string, string>; timeoutMs?: number } = {}
): Promise<RunResult> {
    const startTime = performance.now();
    const child = Bun.spawn([isolated.exe, ...args], {
        cwd: isolated.dir,
        env: { ...isolated.env, ...env },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        timeout: timeoutMs,
        killSignal: "SIGKILL"
    });
    const [stdout, stderr, exitCode] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited
    ]);
    return { exitCode, stdout, stderr, ms: performance.now() - startTime };
}
