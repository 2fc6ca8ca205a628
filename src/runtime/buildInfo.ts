/**
 * Facts fixed at build time by `scripts/build/build.ts` (through Bun's `define`), with fallbacks for
 * running from source (`bun src/main.ts`), where the constants are not defined.
 */
import packageJson from "../../package.json" with { type: "json" };

declare const HEARTH_VERSION: string | undefined;
declare const HEARTH_BUILD_FLAVOR: "full" | "cpu" | undefined;
declare const HEARTH_BUILD_TARGET: string | undefined;
declare const HEARTH_NODE_LLAMA_CPP_VERSION: string | undefined;

/** Hearth's version (package.json `version`). */
export const hearthVersion: string = typeof HEARTH_VERSION === "string" ? HEARTH_VERSION : packageJson.version;

/** `"full"` (CPU + CUDA + Vulkan / Metal), `"cpu"`, or `null` when not running from a built executable. */
export const buildFlavor: "full" | "cpu" | null = typeof HEARTH_BUILD_FLAVOR === "string" ? HEARTH_BUILD_FLAVOR : null;

/** Bun compile target of the executable (e.g. `"bun-linux-x64"`), or `null` when running from source. */
export const buildTarget: string | null = typeof HEARTH_BUILD_TARGET === "string" ? HEARTH_BUILD_TARGET : null;

/** node-llama-cpp version embedded in the executable, or `null` when running from source. */
export const embeddedNodeLlamaCppVersion: string | null =
    typeof HEARTH_NODE_LLAMA_CPP_VERSION === "string" ? HEARTH_NODE_LLAMA_CPP_VERSION : null;

/** `true` inside a `bun build --compile` executable. */
export const isStandaloneExecutable: boolean = typeof Bun !== "undefined" && Bun.isStandaloneExecutable === true;
