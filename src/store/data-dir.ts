import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where Hearth keeps its state when no --data-dir is given: $XDG_DATA_HOME/hearth, else
 * ~/.local/share/hearth. Never the working directory or beside the executable.
 */
export function defaultDataDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith("/") ? env.XDG_DATA_HOME : join(homedir(), ".local", "share");
  return join(base, "hearth");
}
