import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse as parsePlist } from "plist";
import { UsageError } from "../../src/cli/options.ts";
import { hearthCommand, runService, serveArguments } from "../../src/cli/service.ts";
import { launchdPlist } from "../../src/cli/service/launchd.ts";
import type { ServiceSpec } from "../../src/cli/service/spec.ts";
import { quoteExecArg, systemdUnit } from "../../src/cli/service/systemd.ts";

const ROOT = path.join(import.meta.dir, "..", "..");
const SOURCE_CLI = [process.execPath, path.join(ROOT, "src", "main.ts")];
const COMMAND = ["/usr/bin/hearth", "serve", "--host", "0.0.0.0", "--port", "9999", "--models", "/srv/models"];
const spec = (scope: ServiceSpec["scope"], command = COMMAND): ServiceSpec => ({ scope, command, user: "hearth", home: "/home/ann", writable: ["/srv/models"] });

let scratch: string;
beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), "hearth-service-test-"));
});
afterAll(() => fs.rm(scratch, { recursive: true, force: true }));

describe("systemd unit", () => {
  test("user scope: the serve command line, restarts, journal, default.target, no User=", () => {
    const unit = systemdUnit(spec("user"));
    expect(unit).toContain("\nExecStart=/usr/bin/hearth serve --host 0.0.0.0 --port 9999 --models /srv/models\n");
    expect(unit).toContain("\nRestart=on-failure\n");
    expect(unit).toContain("\nStandardOutput=journal\nStandardError=journal\n");
    expect(unit).toContain("\nWantedBy=default.target\n");
    expect(unit).not.toContain("User=");
    expect(unit).not.toContain("network-online.target");
  });

  test("system scope: an unprivileged user, hardening, the network and multi-user.target", () => {
    const unit = systemdUnit({ ...spec("system"), user: "llm" });
    expect(unit).toContain("\nExecStart=/usr/bin/hearth serve --host 0.0.0.0 --port 9999 --models /srv/models\n");
    expect(unit).toContain("\nUser=llm\n");
    // The store in /var/lib/hearth, the service account's own (0700).
    expect(unit).toContain("\nStateDirectory=hearth\nStateDirectoryMode=0700\nEnvironment=HEARTH_DATA_DIR=%S/hearth\n");
    expect(unit).toContain("\nRestart=on-failure\n");
    expect(unit).toContain("\nNoNewPrivileges=true\n");
    expect(unit).toContain("\nProtectHome=read-only\n");
    expect(unit).toContain("\nWants=network-online.target\nAfter=network-online.target\n");
    expect(unit).toContain("\nWantedBy=multi-user.target\n");
  });

  test("ExecStart words with spaces, quotes, % and $ are quoted and escaped", () => {
    expect(quoteExecArg("/srv/models")).toBe("/srv/models");
    expect(quoteExecArg("/home/ann/My Models")).toBe('"/home/ann/My Models"');
    expect(quoteExecArg('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(quoteExecArg("100%")).toBe("100%%");
    expect(quoteExecArg("$HOME x")).toBe('"$$HOME x"');
    expect(quoteExecArg("")).toBe('""');
    expect(quoteExecArg("a\nb")).toBe('"a\\x0ab"');
    const unit = systemdUnit(spec("user", ["/opt/my apps/bun", "/opt/my apps/hearth/src/main.ts", "serve", "--models", "/srv/my models"]));
    expect(unit).toContain('\nExecStart="/opt/my apps/bun" "/opt/my apps/hearth/src/main.ts" serve --models "/srv/my models"\n');
  });
});

describe("systemd-analyze verify", () => {
  let analyze: string;
  let program: string;
  beforeAll(async () => {
    analyze = await ensureSystemdAnalyze();
    // verify checks that ExecStart's program exists; a real one in a folder with a space tests the quoting too.
    await fs.mkdir(path.join(scratch, "my bin"));
    program = path.join(scratch, "my bin", "bun");
    await fs.symlink(process.execPath, program);
  }, 300_000);

  const verify = async (scope: ServiceSpec["scope"], unit: string) => {
    const dir = await fs.mkdtemp(path.join(scratch, `verify-${scope}-`));
    const file = path.join(dir, "hearth.service");
    await fs.writeFile(file, unit);
    const runtimeDir = path.join(dir, "run");
    await fs.mkdir(runtimeDir, { mode: 0o700 });
    const proc = Bun.spawn({
      cmd: [analyze, ...(scope === "user" ? ["--user"] : []), "verify", file],
      // A user manager wants a runtime directory even to verify.
      env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_COLOR: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
    // Complaints about the host (no running systemd, missing units elsewhere) are not ours; complaints about our file name it.
    return { code: await proc.exited, ours: output.split("\n").filter((line) => line.includes("hearth.service")) };
  };

  for (const scope of ["user", "system"] as const) {
    test(`accepts the ${scope} unit`, async () => {
      const command = [program, "/opt/hearth/src/main.ts", "serve", "--host", "127.0.0.1", "--port", "11435", "--models", "/srv/my models & more"];
      const result = await verify(scope, systemdUnit(spec(scope, command)));
      expect(result).toEqual({ code: 0, ours: [] });
    });
  }

  test("rejects a broken unit, so the checks above can fail", async () => {
    const broken = systemdUnit(spec("system", [program, "serve"])).replace(`ExecStart=${quoteExecArg(program)}`, `ExecStart="${program}`);
    const result = await verify("system", broken);
    expect(result.code).not.toBe(0);
    expect(result.ours).not.toEqual([]);
  });
});

describe("launchd plist", () => {
  test("parses as a plist with the arguments in order, restart on failure and logs", () => {
    const command = ["/Users/ann/A&B <apps>/hearth", "serve", "--models", "/Users/ann/R&D <models>"];
    const xml = launchdPlist({ ...spec("user", command), home: "/Users/ann" });
    expect(xml).toContain("A&amp;B &lt;apps&gt;");
    expect(parsePlist(xml)).toEqual({
      Label: "dev.hearth.server",
      ProgramArguments: command,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      StandardOutPath: "/Users/ann/Library/Logs/hearth.log",
      StandardErrorPath: "/Users/ann/Library/Logs/hearth.log",
    });
  });

  test("system scope names the user it runs as", () => {
    const parsed = parsePlist(launchdPlist({ ...spec("system"), user: "_hearth" })) as Record<string, unknown>;
    expect(parsed.UserName).toBe("_hearth");
    expect(parsed.ProgramArguments).toEqual(COMMAND);
    expect(parsed.StandardOutPath).toBe("/Library/Logs/hearth.log");
  });
});

describe("the service command line", () => {
  test("runs bun with this checkout's entry from source, the executable alone when compiled", () => {
    expect(hearthCommand({ standalone: false, execPath: "/opt/bun", entry: "/src/main.ts" })).toEqual(["/opt/bun", "/src/main.ts"]);
    expect(hearthCommand({ standalone: true, execPath: "/usr/local/bin/hearth", entry: "/$bunfs/root/hearth" })).toEqual(["/usr/local/bin/hearth"]);
    expect(hearthCommand()).toEqual([process.execPath, path.join(ROOT, "src", "main.ts")]);
  });

  test("always names host, port and models; other options only when they differ from the defaults", () => {
    const base = { host: "127.0.0.1", port: 11435, models: "/m", ctxSize: 4096, parallel: 4, gpu: "auto" as const, maxQueue: 512, keepAliveMs: 300_000, maxLoadedModels: 3, memoryBudget: "auto" as const, flashAttention: "auto" as const, shutdownTimeoutMs: 30_000, predictionDrafting: "auto" as const, instructModels: [], noAuth: false, jwtProjectClaim: "project", corsOrigins: [], maxFileSize: 512_000_000 };
    expect(serveArguments(base)).toEqual(["serve", "--host", "127.0.0.1", "--port", "11435", "--models", "/m"]);
    expect(serveArguments({ ...base, ctxSize: 8192, threads: 2, gpu: "cpu" })).toEqual([
      "serve", "--host", "127.0.0.1", "--port", "11435", "--models", "/m", "--ctx-size", "8192", "--threads", "2", "--gpu", "cpu",
    ]);
    // Durations go back out in a form that parses to the same value.
    expect(serveArguments({ ...base, keepAliveMs: 90_000 })).toContain("90s");
    expect(serveArguments({ ...base, keepAliveMs: Infinity })).toEqual([...serveArguments(base), "--keep-alive", "-1"]);
    expect(serveArguments({ ...base, shutdownTimeoutMs: 90_000 })).toEqual([...serveArguments(base), "--shutdown-timeout", "90s"]);
    expect(serveArguments({ ...base, memoryBudget: 8 * 2 ** 30 })).toEqual([...serveArguments(base), "--memory-budget", String(8 * 2 ** 30)]);
    // A repeatable flag goes out once per item.
    const pairs = [{ thinking: "qwen3-thinking", instruct: "qwen3-instruct" }, { thinking: "r1", instruct: "v3" }];
    expect(serveArguments({ ...base, instructModels: pairs })).toEqual([...serveArguments(base), "--instruct-model", "qwen3-thinking=qwen3-instruct", "--instruct-model", "r1=v3"]);
    // A switch goes out bare, and only when on.
    expect(serveArguments({ ...base, noAuth: true, corsOrigins: ["http://a.home.arpa"], dataDir: "/srv/h" })).toEqual([...serveArguments(base), "--data-dir", "/srv/h", "--no-auth", "--cors-origin", "http://a.home.arpa"]);
  });
});

describe("hearth service (CLI)", () => {
  const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("HEARTH_") && !key.startsWith("XDG_")));
  const hearth = async (args: string[], env: Record<string, string> = {}) => {
    const proc = Bun.spawn({
      cmd: [...SOURCE_CLI, "service", ...args],
      cwd: scratch,
      env: { ...cleanEnv(), HOME: scratch, ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text()];
    return { code: await proc.exited, stdout, stderr };
  };

  test("install --dry-run prints the unit with the chosen port and models and writes nothing", async () => {
    const result = await hearth(["install", "--dry-run", "--port", "9999", "--models", "/tmp/x"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`\nExecStart=${process.execPath} ${path.join(ROOT, "src", "main.ts")} serve --host 127.0.0.1 --port 9999 --models /tmp/x\n`);
    expect(result.stderr).toContain(`would write ${scratch}/.config/systemd/user/hearth.service`);
    expect(existsSync(path.join(scratch, ".config"))).toBe(false);
  });

  test("serve options come from HEARTH_* variables too, relative models folders become absolute", async () => {
    const result = await hearth(["install", "--dry-run", "--models", "my models", "--scope", "system", "--user", "root"], { HEARTH_PORT: "8123", HEARTH_PARALLEL: "2" });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(` serve --host 127.0.0.1 --port 8123 --models "${scratch}/my models" --parallel 2\n`);
    expect(result.stdout).toContain("\nUser=root\n");
    expect(result.stderr).toContain("would write /etc/systemd/system/hearth.service");
  });

  test("--platform darwin prints a launch agent plist", async () => {
    const result = await hearth(["install", "--dry-run", "--platform", "darwin", "--port", "9999"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`would write ${scratch}/Library/LaunchAgents/dev.hearth.server.plist`);
    const parsed = parsePlist(result.stdout) as Record<string, unknown>;
    expect(parsed.ProgramArguments).toEqual([...hearthCommand(), "serve", "--host", "127.0.0.1", "--port", "9999", "--models", path.join(scratch, "models")]);
  });

  test("install writes into XDG_CONFIG_HOME and uninstall removes the unit and its enablement link", async () => {
    const config = path.join(scratch, "xdg config");
    const unit = path.join(config, "systemd", "user", "hearth.service");
    const installed = await hearth(["install", "--port", "9998", "--models", "/tmp/x"], { XDG_CONFIG_HOME: config });
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain(`Wrote ${unit}`);
    expect(installed.stdout).toContain("systemctl --user daemon-reload && systemctl --user enable --now hearth");
    expect(installed.stdout).toContain("loginctl enable-linger $USER");
    expect(await fs.readFile(unit, "utf8")).toContain(" serve --host 127.0.0.1 --port 9998 --models /tmp/x\n");

    // What `systemctl --user enable` would have created.
    const link = path.join(config, "systemd", "user", "default.target.wants", "hearth.service");
    await fs.mkdir(path.dirname(link));
    await fs.symlink(unit, link);
    const removed = await hearth(["uninstall"], { XDG_CONFIG_HOME: config });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain("systemctl --user stop hearth");
    expect(existsSync(unit)).toBe(false);
    expect(await fs.lstat(link).then(() => "still there", () => "gone")).toBe("gone");

    const again = await hearth(["uninstall"], { XDG_CONFIG_HOME: config });
    expect(again).toMatchObject({ code: 1, stdout: "" });
    expect(again.stderr).toBe(`hearth: no Hearth service at ${unit}, nothing to uninstall (for a system-wide service pass --scope system)\n`);
  });

  test("bad options are usage errors (exit 2) that name the option", async () => {
    const unknown = await hearth(["install", "--colour", "red"]);
    expect(unknown).toMatchObject({ code: 2, stderr: "hearth: unknown option --colour (try hearth service --help)\n" });
    const rejects = (argv: string[], message: string | RegExp, env = {}) =>
      expect(runService(argv, env)).rejects.toThrow(message);
    await rejects(["uninstall", "--port", "1"], "unknown option --port");
    await rejects(["install", "--port", "http"], '--port must be a port number 0-65535, got "http"');
    await rejects(["install", "--dry-run"], /HEARTH_GPU must be one of/, { HEARTH_GPU: "tpu" });
    await rejects(["install", "--scope", "global"], "--scope must be user or system");
    await rejects(["install", "--platform", "win32"], "--platform must be");
    await rejects(["install", "--user", "bob"], "--user applies only to --scope system");
    await rejects(["install", "--scope", "system", "--user", "bob smith"], '--user must be an account name, got "bob smith"');
    await rejects(["install", "stray"], /Unexpected argument 'stray'/);
    await rejects(["restart"], 'unknown service action "restart"');
    await expect(runService(["install", "--colour"], {})).rejects.toBeInstanceOf(UsageError);
  });

  test("--help documents install, uninstall, scopes, platforms and the serve options", async () => {
    const result = await hearth(["--help"]);
    expect(result.code).toBe(0);
    for (const word of ["install", "uninstall", "--scope user|system", "--user NAME", "--platform", "--dry-run", "--models DIR", "HEARTH_PORT"]) {
      expect(result.stdout).toContain(word);
    }
  });
});

/** systemd-analyze, installed from Debian's `systemd` package when missing (the mirror is reachable, the internet is not). */
async function ensureSystemdAnalyze(): Promise<string> {
  const found = Bun.which("systemd-analyze");
  if (found) return found;
  const run = async (cmd: string[]) => {
    const proc = Bun.spawn({ cmd, stdout: "ignore", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if ((await proc.exited) !== 0) throw new Error(`${cmd.join(" ")} failed: ${await new Response(proc.stderr).text()}`);
  };
  await run(["apt-get", "update", "-qq"]);
  await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "systemd"]);
  const installed = Bun.which("systemd-analyze");
  if (!installed) throw new Error("systemd-analyze is still missing after installing systemd");
  return installed;
}
