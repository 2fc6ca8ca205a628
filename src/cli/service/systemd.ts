import path from "node:path";
import type { Env, ServiceManager, ServiceScope, ServiceSpec } from "./spec.ts";

const UNIT = "hearth.service";

/** `default.target` is what a user manager reaches at login; system services belong to the multi-user boot. */
const WANTED_BY: Record<ServiceScope, string> = { user: "default.target", system: "multi-user.target" };

/**
 * Confinement for the system service. Everything stays readable (the models folder and, when running
 * from source, bun and the checkout can live anywhere, /home included), nothing is writable except
 * the cache and state directories. Devices stay visible for CUDA and Vulkan, and JIT-hostile options such as
 * MemoryDenyWriteExecute are left out because Bun's JavaScriptCore compiles code at run time.
 */
const SYSTEM_HARDENING = [
  "NoNewPrivileges=true",
  "PrivateTmp=true",
  "ProtectSystem=strict",
  "ProtectHome=read-only",
  "ProtectControlGroups=true",
  "ProtectKernelTunables=true",
  "RestrictSUIDSGID=true",
  // The single executable extracts llama.cpp's libraries under $XDG_CACHE_HOME; a system account has
  // no writable home, so give it /var/cache/hearth (created and owned for it by systemd).
  "CacheDirectory=hearth",
  "Environment=XDG_CACHE_HOME=%C/hearth",
  // The store (keys, conversations) in /var/lib/hearth, created and owned for the service's account;
  // an explicit --data-dir in ExecStart wins over the variable.
  "StateDirectory=hearth",
  "StateDirectoryMode=0700",
  "Environment=HEARTH_DATA_DIR=%S/hearth",
];

/**
 * One ExecStart word. `%` (specifiers) and `$` (variables) are expanded even inside quotes, so they
 * are doubled; words with anything but plain path characters are double-quoted with C escapes.
 */
export function quoteExecArg(arg: string): string {
  const literal = arg.replaceAll("%", "%%").replaceAll("$", () => "$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return literal;
  const escaped = literal
    .replace(/[\\"]/g, "\\$&")
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `"${escaped}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  const system = spec.scope === "system";
  return [
    "[Unit]",
    "Description=Hearth local LLM server",
    // A user manager cannot see system targets such as network-online.target, so only the system unit waits for the network.
    ...(system ? ["Wants=network-online.target", "After=network-online.target"] : []),
    "",
    "[Service]",
    `ExecStart=${spec.command.map(quoteExecArg).join(" ")}`,
    ...(system ? [`User=${spec.user}`, ...SYSTEM_HARDENING, ...writablePaths(spec.writable)] : ["NoNewPrivileges=true"]),
    "Restart=on-failure",
    // Without a pause a persistent failure (port taken) burns through systemd's start limit in a second.
    "RestartSec=5",
    "StandardOutput=journal",
    "StandardError=journal",
    "",
    "[Install]",
    `WantedBy=${WANTED_BY[spec.scope]}`,
    "",
  ].join("\n");
}

/** Pulls and creates write into the models folder; "-" lets the service start while it does not exist yet. */
function writablePaths(paths: string[]): string[] {
  return paths.length > 0 ? [`ReadWritePaths=${paths.map((p) => quoteExecArg(`-${p}`)).join(" ")}`] : [];
}

function unitDir(scope: ServiceScope, home: string, env: Env): string {
  if (scope === "system") return "/etc/systemd/system";
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative values must be ignored.
  const config = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, ".config");
  return path.join(config, "systemd", "user");
}

function systemctl(scope: ServiceScope): string {
  return scope === "user" ? "systemctl --user" : "sudo systemctl";
}

export const systemd: ServiceManager = {
  file: (scope, home, env) => path.join(unitDir(scope, home, env), UNIT),
  render: systemdUnit,
  links: (scope, file) => [path.join(path.dirname(file), `${WANTED_BY[scope]}.wants`, UNIT)],
  afterInstall({ scope }, _file, replaced) {
    const ctl = systemctl(scope);
    const lines = replaced
      ? ["Apply the change:", `  ${ctl} daemon-reload && ${ctl} restart hearth`]
      : [`Start it now and at every ${scope === "user" ? "login" : "boot"}:`, `  ${ctl} daemon-reload && ${ctl} enable --now hearth`];
    if (scope === "user") lines.push("Keep it running when you are logged out (and start it at boot):", "  loginctl enable-linger $USER");
    lines.push("Logs:", `  journalctl ${scope === "user" ? "--user " : ""}-u hearth -f`);
    return lines.join("\n");
  },
  afterUninstall(scope) {
    const ctl = systemctl(scope);
    return ["Stop the running service and forget it:", `  ${ctl} stop hearth; ${ctl} daemon-reload`].join("\n");
  },
};
