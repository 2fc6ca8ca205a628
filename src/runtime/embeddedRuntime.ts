/**
 * Extraction of the llama.cpp runtime (node-llama-cpp's prebuilt `.node` addon and
 * shared libraries) that `scripts/build/build.ts` embeds into the single executable.
 *
 * `dlopen()` needs real files, so on first use the embedded files are copied to a
 * versioned cache folder:
 *
 *     $HEARTH_RUNTIME_DIR/<node-llama-cpp version>/<package>        (override)
 *     $XDG_CACHE_HOME/hearth/runtime/<node-llama-cpp version>/<package>
 *     ~/.cache/hearth/runtime/<node-llama-cpp version>/<package>    (default)
 *
 * where <package> is the platform package's short name (`linux-x64`, `linux-x64-cuda`,
 * `linux-x64-cuda-ext`, `linux-x64-vulkan`, `mac-arm64-metal`, ...) or `grammars`.
 *
 * Extraction is atomic: the files are written into a temporary sibling folder, each one
 * is checked against the size and SHA-256 recorded at build time, a manifest is written
 * last, and the folder is renamed into place. Later starts only compare the manifest id
 * and `stat()` sizes, so nothing is rewritten or re-hashed. Concurrent first starts are
 * safe: the loser of the rename race discards its copy and uses the winner's.
 *
 * This module has no dependency on the bundler: the generated shims (see
 * `scripts/build/plugin.ts`) only pass plain data, so it can be unit-tested with
 * ordinary files as sources.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface EmbeddedRuntimeFile {
    /** Path relative to the extracted folder, `/`-separated (e.g. `linux-x64/llama-addon.node`). */
    path: string;
    /** Where the bytes are read from: an embedded `/$bunfs/...` path in the executable, or any file. */
    source: string;
    size: number;
    sha256: string;
    /** Permission bits to restore (e.g. 0o755); the embedding itself does not keep modes. */
    mode: number;
}

export interface EnsureExtractedOptions {
    /** Folder name under `<root>/<version>/`. */
    name: string;
    /** node-llama-cpp version the files belong to. */
    version: string;
    files: readonly EmbeddedRuntimeFile[];
    /** Overrides the root folder (default: {@link resolveRuntimeRoot}). */
    root?: string;
    env?: NodeJS.ProcessEnv;
    /** Progress output; defaults to one line on stderr when something is extracted. Pass `null` to silence. */
    log?: ((message: string) => void) | null;
}

export interface EnsureExtractedResult {
    dir: string;
    /** `true` when this call wrote the files, `false` when a valid earlier extraction was reused. */
    extracted: boolean;
    /** Milliseconds spent (checking, and extracting when `extracted`). */
    ms: number;
}

export const manifestFileName = ".hearth-runtime.json";
const manifestFormat = 1;

/** Root of the runtime cache, without the version / package parts. */
export function resolveRuntimeRoot(env: NodeJS.ProcessEnv = process.env): string {
    const override = env.HEARTH_RUNTIME_DIR;
    if (override != null && override.trim() !== "")
        return path.resolve(override);

    const xdg = env.XDG_CACHE_HOME;
    // the XDG spec says relative values must be ignored
    const cacheHome = xdg != null && path.isAbsolute(xdg)
        ? xdg
        : path.join(env.HOME != null && env.HOME !== "" ? env.HOME : os.homedir(), ".cache");

    return path.join(cacheHome, "hearth", "runtime");
}

export function resolveRuntimeDir(version: string, name: string, env: NodeJS.ProcessEnv = process.env): string {
    return path.join(resolveRuntimeRoot(env), version, name);
}

/** Stable id of a file list: changes whenever any file's path, content, or mode changes. */
export function computeManifestId(files: readonly Pick<EmbeddedRuntimeFile, "path" | "sha256" | "size" | "mode">[]): string {
    const hash = createHash("sha256");
    hash.update(`hearth-runtime/${manifestFormat}\n`);
    for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
        hash.update(`${file.path}\0${file.size}\0${file.sha256}\0${(file.mode & 0o777).toString(8)}\n`);
    return hash.digest("hex");
}

/**
 * Returns the folder holding `files`, extracting them first unless a complete, matching
 * extraction already exists there.
 */
export async function ensureExtracted(options: EnsureExtractedOptions): Promise<EnsureExtractedResult> {
    const startTime = performance.now();
    const env = options.env ?? process.env;
    const root = options.root ?? resolveRuntimeRoot(env);
    const dir = path.join(root, options.version, options.name);
    const id = computeManifestId(options.files);
    const log = options.log === undefined
        ? (message: string) => process.stderr.write(`[hearth] ${message}\n`)
        : options.log;

    for (const file of options.files)
        assertSafeRelativePath(file.path);

    if (await isValidExtraction(dir, id, options.files))
        return { dir, extracted: false, ms: performance.now() - startTime };

    try {
        await extractInto(dir, id, options, log);
    } catch (err) {
        const isFileSystemError = typeof (err as NodeJS.ErrnoException)?.code === "string";
        throw new Error(
            `Cannot extract the llama.cpp runtime "${options.name}" to ${dir}: ${(err as Error)?.message ?? String(err)}` +
            (isFileSystemError ? " (set HEARTH_RUNTIME_DIR to a writable folder)" : ""),
            { cause: err }
        );
    }

    const ms = performance.now() - startTime;
    log?.(`extracted llama.cpp runtime "${options.name}" in ${Math.round(ms)}ms`);
    return { dir, extracted: true, ms };
}

async function extractInto(dir: string, id: string, options: EnsureExtractedOptions, log: ((message: string) => void) | null) {
    const parentDir = path.dirname(dir);
    await fs.mkdir(parentDir, { recursive: true });
    await removeLeftovers(parentDir, options.name);

    const totalBytes = options.files.reduce((sum, file) => sum + file.size, 0);
    log?.(`extracting llama.cpp runtime "${options.name}" (${formatBytes(totalBytes)}) to ${dir}`);

    const tempDir = await fs.mkdtemp(path.join(parentDir, `.${options.name}.tmp-`));
    try {
        for (const file of options.files)
            await extractFile(file, path.join(tempDir, ...file.path.split("/")));

        await fs.writeFile(path.join(tempDir, manifestFileName), JSON.stringify({
            format: manifestFormat,
            id,
            name: options.name,
            version: options.version,
            files: options.files.map(({ path, size, sha256, mode }) => ({ path, size, sha256, mode }))
        }, null, 2) + "\n");
        await fs.chmod(tempDir, 0o755); // mkdtemp creates it 0700

        await moveIntoPlace(tempDir, dir, id, options.files);
    } catch (err) {
        await fs.rm(tempDir, { recursive: true, force: true }).catch(() => {});
        throw err;
    }
}

/** Cheap check used on every start: manifest id matches and every file has the recorded size. */
export async function isValidExtraction(dir: string, id: string, files: readonly EmbeddedRuntimeFile[]): Promise<boolean> {
    try {
        const manifest = JSON.parse(await fs.readFile(path.join(dir, manifestFileName), "utf8"));
        if (manifest?.format !== manifestFormat || manifest?.id !== id)
            return false;

        const stats = await Promise.all(files.map((file) => fs.stat(path.join(dir, ...file.path.split("/")))));
        return stats.every((stat, index) => stat.isFile() && stat.size === files[index]!.size);
    } catch {
        return false;
    }
}

async function extractFile(file: EmbeddedRuntimeFile, destination: string) {
    await fs.mkdir(path.dirname(destination), { recursive: true });
    await copyBytes(file.source, destination);
    await fs.chmod(destination, file.mode & 0o777);

    const [stat, sha256] = await Promise.all([fs.stat(destination), hashFile(destination)]);
    if (stat.size !== file.size || sha256 !== file.sha256)
        throw new Error(
            `Extracted runtime file "${file.path}" does not match the embedded one ` +
            `(size ${stat.size}, expected ${file.size}; sha256 ${sha256}, expected ${file.sha256})`
        );
}

async function copyBytes(source: string, destination: string) {
    if (typeof Bun !== "undefined") {
        // works for files embedded in a `bun build --compile` executable (`/$bunfs/...`) and for regular files
        await Bun.write(destination, Bun.file(source));
        return;
    }
    await fs.copyFile(source, destination);
}

export async function hashFile(filePath: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(filePath, { highWaterMark: 4 * 1024 * 1024 }))
        hash.update(chunk as Buffer);
    return hash.digest("hex");
}

async function moveIntoPlace(tempDir: string, dir: string, id: string, files: readonly EmbeddedRuntimeFile[]) {
    try {
        await fs.rename(tempDir, dir);
        return;
    } catch (err) {
        if (!isDirectoryInTheWayError(err))
            throw err;
    }

    // `dir` exists: either another process finished extracting first, or it is stale / broken
    if (await isValidExtraction(dir, id, files)) {
        await fs.rm(tempDir, { recursive: true, force: true });
        return;
    }

    // replace the stale folder; processes still using files from it keep working (unlinked inodes stay alive)
    const staleDir = `${dir}.stale-${process.pid}-${Date.now().toString(36)}`;
    try {
        await fs.rename(dir, staleDir);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT")
            throw err;
    }
    try {
        await fs.rename(tempDir, dir);
    } catch (err) {
        if (!isDirectoryInTheWayError(err) || !(await isValidExtraction(dir, id, files)))
            throw err;
        await fs.rm(tempDir, { recursive: true, force: true });
    }
    await fs.rm(staleDir, { recursive: true, force: true }).catch(() => {});
}

function isDirectoryInTheWayError(err: unknown) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    return code === "ENOTEMPTY" || code === "EEXIST" || code === "EPERM" || code === "EISDIR";
}

/** Removes temp / stale folders of `name` left behind by crashed runs (older than a day, so never a running extraction). */
async function removeLeftovers(parentDir: string, name: string) {
    const maxAgeMs = 24 * 60 * 60 * 1000;
    try {
        for (const entry of await fs.readdir(parentDir)) {
            const isLeftover = entry.startsWith(`.${name}.tmp-`) || entry.startsWith(`${name}.stale-`);
            if (!isLeftover)
                continue;
            const entryPath = path.join(parentDir, entry);
            const stat = await fs.stat(entryPath).catch(() => null);
            if (stat != null && Date.now() - stat.mtimeMs > maxAgeMs)
                await fs.rm(entryPath, { recursive: true, force: true }).catch(() => {});
        }
    } catch {
        // best effort
    }
}

function assertSafeRelativePath(filePath: string) {
    const parts = filePath.split("/");
    if (filePath === "" || path.isAbsolute(filePath) || filePath.includes("\\") ||
        parts.some((part) => part === "" || part === "." || part === ".." || part === manifestFileName)
    )
        throw new Error(`Invalid embedded runtime file path: ${JSON.stringify(filePath)}`);
}

function formatBytes(bytes: number) {
    if (bytes >= 1024 * 1024)
        return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
    if (bytes >= 1024)
        return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${bytes} B`;
}
