import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { resolveServeOptions, serveHelp, SERVE_OPTIONS, UsageError, type ServeOptions } from "./options.ts";
import { launchd } from "./service/launchd.ts";
import type { Env, ServiceManager, ServicePlatform, ServiceScope } from "./service/spec.ts";
import { systemd } from "./service/systemd.ts";

/** A failure the user can act on (nothing to uninstall, no permission): reported without a stack trace, exit 1. */
export class ServiceError extends Error {}

const MANAGERS: Record<ServicePlatform, ServiceManager> = { linux: systemd, darwin: launchd };
const DEFAULT_USER = "hearth";

export const SERVICE_HELP = `Usage:
  hearth service install [--scope user|system] [--user NAME] [--platform linux|darwin] [--dry-run] [serve options]
  hearth service uninstall [--scope user|system] [--platform linux|darwin]

install writes a service definition that runs "hearth serve" at login (user scope) or at boot
(system scope) and restarts it when it fails: a systemd unit on Linux, a launchd job on macOS.
It starts nothing; it prints the commands that do. Installing again replaces the definition.
uninstall removes it (and systemd's enablement link) and prints how to stop the running service.

Options:
  --scope user|system   user (default): ~/.config/systemd/user/hearth.service
                          or ~/Library/LaunchAgents/dev.hearth.server.plist
                        system: /etc/systemd/system/hearth.service
                          or /Library/LaunchDaemons/dev.hearth.server.plist (needs root)
  --user NAME           account the system service runs as (default ${DEFAULT_USER})
  --platform P          linux (systemd) or darwin (launchd); default: this machine's
  --dry-run             print the definition instead of writing it (the path goes to stderr)

Serve options, resolved now (flags win over HEARTH_* variables) and written into the service's
command line; host, port and the models folder (made absolute) always are, the others when they
differ from their defaults:
${serveHelp()}`;

type Values = ReturnType<typeof parseArgs>["values"];

const TARGET_FLAGS = { scope: { type: "string" }, platform: { type: "string" } } satisfies ParseArgsConfig["options"];
const INSTALL_FLAGS = {
  ...TARGET_FLAGS,
  user: { type: "string" },
  "dry-run": { type: "boolean" },
  ...Object.fromEntries(SERVE_OPTIONS.map((o) => [o.flag, { type: "string" as const, multiple: o.repeatable === true }])),
} satisfies ParseArgsConfig["options"];

/** Runs `hearth service …`; returns the exit code. */
export async function runService(argv: string[], env: Env): Promise<number> {
  const [action, ...rest] = argv;
  const help = (arg: string) => arg === "--help" || arg === "-h";
  if (action === undefined || help(action) || action === "help" || rest.some(help)) {
    console.log(SERVICE_HELP);
    return action === undefined ? 1 : 0;
  }
  if (action === "install") return install(rest, env);
  if (action === "uninstall") return uninstall(rest, env);
  throw new UsageError(`unknown service action "${action}": use install or uninstall (try hearth service --help)`);
}

async function install(argv: string[], env: Env): Promise<number> {
  const values = parse(argv, INSTALL_FLAGS);
  const { scope, platform, home } = target(values, env);
  const user = typeof values.user === "string" ? values.user : DEFAULT_USER;
  if (values.user !== undefined && scope !== "system") throw new UsageError("--user applies only to --scope system");
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user)) throw new UsageError(`--user must be an account name, got "${user}"`);

  // Re-validate the serve flags exactly as `hearth serve` would, environment variables included.
  const serveArgv = SERVE_OPTIONS.flatMap((o) => [values[o.flag]].flat().flatMap((value) => (typeof value === "string" ? [`--${o.flag}`, value] : [])));
  const options = resolveServeOptions(serveArgv, env);
  options.models = path.resolve(options.models);
  if (options.ollamaModels !== undefined && options.ollamaModels !== "off") options.ollamaModels = path.resolve(options.ollamaModels);

  const manager = MANAGERS[platform];
  const spec = { scope, user, home, command: [...hearthCommand(), ...serveArguments(options)], writable: [options.models, ...(options.dataDir === undefined ? [] : [options.dataDir])] };
  const file = manager.file(scope, home, env);
  const content = manager.render(spec);
  const notes = installNotes(spec.scope, user, platform, options.models);

  if (values["dry-run"]) {
    process.stdout.write(content);
    console.error([`Dry run: would write ${file}; nothing was written.`, ...notes].join("\n"));
    return 0;
  }
  const replaced = existsSync(file);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content, { mode: 0o644 });
  } catch (err) {
    throw fileError("cannot write", file, scope, err);
  }
  console.log([`${replaced ? "Replaced" : "Wrote"} ${file}`, ...notes, manager.afterInstall(spec, file, replaced)].join("\n"));
  return 0;
}

async function uninstall(argv: string[], env: Env): Promise<number> {
  const { scope, platform, home } = target(parse(argv, TARGET_FLAGS), env);
  const manager = MANAGERS[platform];
  const file = manager.file(scope, home, env);
  const removed: string[] = [];
  for (const victim of [file, ...manager.links(scope, file)]) {
    try {
      await fs.unlink(victim);
      removed.push(victim);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fileError("cannot remove", victim, scope, err);
      if (victim === file) {
        const other = scope === "user" ? " (for a system-wide service pass --scope system)" : "";
        throw new ServiceError(`no Hearth service at ${file}, nothing to uninstall${other}`);
      }
    }
  }
  console.log([...removed.map((f) => `Removed ${f}`), manager.afterUninstall(scope)].join("\n"));
  return 0;
}

/**
 * The command that starts this Hearth again: the single executable itself, or, from source, bun
 * with this checkout's entry point (not `Bun.main`, which names whatever script imported us).
 */
export function hearthCommand(
  runtime = { standalone: Bun.isStandaloneExecutable === true, execPath: process.execPath, entry: path.join(import.meta.dir, "..", "main.ts") },
): string[] {
  return runtime.standalone ? [runtime.execPath] : [runtime.execPath, runtime.entry];
}

/** `serve` and its flags: host, port and models always, the rest only where they differ from the defaults. */
export function serveArguments(options: ServeOptions): string[] {
  const args = ["serve"];
  for (const spec of SERVE_OPTIONS) {
    const value = options[spec.key];
    if (value === undefined) continue;
    if (spec.repeatable) {
      for (const item of value as unknown[]) args.push(`--${spec.flag}`, spec.format ? spec.format(item as never) : String(item));
      continue;
    }
    if (spec.boolean) {
      if (value === true) args.push(`--${spec.flag}`);
      continue;
    }
    const always = spec.key === "host" || spec.key === "port" || spec.key === "models";
    const isDefault = !spec.decidedLater && value === spec.parse(spec.default, "default");
    if (always || !isDefault) args.push(`--${spec.flag}`, spec.format ? spec.format(value as never) : String(value));
  }
  return args;
}

function parse<T extends ParseArgsConfig["options"]>(argv: string[], options: T): Values {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const unknown = /Unknown option '([^']+)'/.exec((err as Error).message);
    throw new UsageError(unknown ? `unknown option ${unknown[1]} (try hearth service --help)` : (err as Error).message);
  }
}

function target(values: Values, env: Env): { scope: ServiceScope; platform: ServicePlatform; home: string } {
  const scope = values.scope ?? "user";
  if (scope !== "user" && scope !== "system") throw new UsageError(`--scope must be user or system, got "${scope}"`);
  const platform = values.platform ?? process.platform;
  if (platform !== "linux" && platform !== "darwin") {
    const source = values.platform === undefined ? "this platform is" : "--platform must be";
    throw new UsageError(`${source} not linux or darwin ("${platform}"); pass --platform linux or --platform darwin`);
  }
  return { scope, platform, home: env.HOME || os.homedir() };
}

function installNotes(scope: ServiceScope, user: string, platform: ServicePlatform, models: string): string[] {
  const notes: string[] = [];
  if (!existsSync(models)) notes.push(`Note: the models folder ${models} does not exist yet.`);
  if (scope !== "system") return notes;
  // Only this machine's accounts can be checked; a file for another platform is taken on trust.
  if (platform === process.platform && !accountExists(user)) {
    notes.push(
      platform === "linux"
        ? `The service runs as "${user}", which does not exist yet. Create it with:\n  sudo useradd --system --no-create-home --shell /usr/sbin/nologin ${user}`
        : `The service runs as "${user}", which does not exist yet: create that account, or pass --user with an existing one.`,
    );
  }
  notes.push(`"${user}" must be able to read ${models} and the Hearth program.`);
  return notes;
}

function accountExists(name: string): boolean {
  return Bun.spawnSync(["id", "-u", name], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

function fileError(what: string, file: string, scope: ServiceScope, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err as Error;
  const hint = scope === "system" && (code === "EACCES" || code === "EPERM") ? " (system scope needs root: run it with sudo)" : "";
  return new ServiceError(`${what} ${file}: ${code}${hint}`);
}
