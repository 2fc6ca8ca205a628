import path from "node:path";
import { shellQuote, type ServiceManager, type ServiceScope, type ServiceSpec } from "./spec.ts";

export const LAUNCHD_LABEL = "dev.hearth.server";

function xml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function logFile(spec: ServiceSpec): string {
  return spec.scope === "user" ? path.join(spec.home, "Library/Logs/hearth.log") : "/Library/Logs/hearth.log";
}

export function launchdPlist(spec: ServiceSpec): string {
  const string = (value: string) => `<string>${xml(value)}</string>`;
  const log = logFile(spec);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
    `<plist version="1.0">`,
    `<dict>`,
    `  <key>Label</key>`,
    `  ${string(LAUNCHD_LABEL)}`,
    `  <key>ProgramArguments</key>`,
    `  <array>`,
    ...spec.command.map((arg) => `    ${string(arg)}`),
    `  </array>`,
    ...(spec.scope === "system" ? [`  <key>UserName</key>`, `  ${string(spec.user)}`] : []),
    `  <key>RunAtLoad</key>`,
    `  <true/>`,
    // Restart after a crash, but not after a clean exit (SIGTERM from launchctl bootout).
    `  <key>KeepAlive</key>`,
    `  <dict>`,
    `    <key>SuccessfulExit</key>`,
    `    <false/>`,
    `  </dict>`,
    `  <key>StandardOutPath</key>`,
    `  ${string(log)}`,
    `  <key>StandardErrorPath</key>`,
    `  ${string(log)}`,
    `</dict>`,
    `</plist>`,
    ``,
  ].join("\n");
}

function bootstrap(scope: ServiceScope): string {
  return scope === "user" ? "launchctl bootstrap gui/$(id -u)" : "sudo launchctl bootstrap system";
}

function bootout(scope: ServiceScope): string {
  return scope === "user" ? `launchctl bootout gui/$(id -u)/${LAUNCHD_LABEL}` : `sudo launchctl bootout system/${LAUNCHD_LABEL}`;
}

export const launchd: ServiceManager = {
  file: (scope, home) => path.join(scope === "user" ? path.join(home, "Library/LaunchAgents") : "/Library/LaunchDaemons", `${LAUNCHD_LABEL}.plist`),
  render: launchdPlist,
  links: () => [],
  afterInstall(spec, file, replaced) {
    const load = `${bootstrap(spec.scope)} ${shellQuote(file)}`;
    return [
      replaced ? "Apply the change:" : `Start it now and at every ${spec.scope === "user" ? "login" : "boot"}:`,
      `  ${replaced ? `${bootout(spec.scope)}; ${load}` : load}`,
      "Logs:",
      `  tail -f ${shellQuote(logFile(spec))}`,
    ].join("\n");
  },
  afterUninstall: (scope) => ["Stop the running service:", `  ${bootout(scope)}`].join("\n"),
};
