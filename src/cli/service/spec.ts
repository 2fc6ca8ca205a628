export type ServiceScope = "user" | "system";
export type ServicePlatform = "linux" | "darwin";
export type Env = Record<string, string | undefined>;

/** What the service runs and as whom: everything a service definition says, nothing about where it goes. */
export interface ServiceSpec {
  scope: ServiceScope;
  /** The program, then its arguments; paths absolute, since a service manager has no useful working directory. */
  command: string[];
  /** The account a system-scope service runs as. */
  user: string;
  /** Home of the installing user: a user-scope launchd job logs under it. */
  home: string;
  /** Folders the server writes to (the models folder, where pulls and creates land). */
  writable: string[];
}

/** One service manager: where definitions live, how they read, and what to run around installing them. */
export interface ServiceManager {
  file(scope: ServiceScope, home: string, env: Env): string;
  render(spec: ServiceSpec): string;
  /** Links that enabling the service creates, which uninstall removes with the file as a disable would. */
  links(scope: ServiceScope, file: string): string[];
  /** Instructions printed after writing the file; `replaced` when it overwrote an earlier one. */
  afterInstall(spec: ServiceSpec, file: string, replaced: boolean): string;
  afterUninstall(scope: ServiceScope): string;
}

/** Quotes for a POSIX shell, only when needed, so printed commands can be pasted as they are. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
