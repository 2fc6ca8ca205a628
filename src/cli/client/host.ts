import { UsageError } from "../options.ts";

const DEFAULT_PORT = 11435;

function port(raw: string, source: string): number {
  const n = Number(raw);
  if (raw === "" || !Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${source} must be a port number 1-65535, got "${raw}"`);
  return n;
}

/**
 * The server's base URL, read as Ollama reads OLLAMA_HOST: `host`, `host:port`, `[v6]:port` or
 * `scheme://host[:port][/path]`. Without a scheme the port defaults to HEARTH_PORT (the variable
 * `hearth serve` listens on), then 11435; with one, to the scheme's own port, as a URL means.
 * The wildcard addresses a server listens on are not addresses to connect to, so they stand for
 * the loopback address of their family.
 */
export function serverUrl(env: Record<string, string | undefined>): string {
  const raw = (env.HEARTH_HOST ?? "").trim();
  const schemeAt = raw.indexOf("://");
  const scheme = schemeAt < 0 ? "http" : raw.slice(0, schemeAt).toLowerCase();
  if (scheme !== "http" && scheme !== "https") throw new UsageError(`HEARTH_HOST must use http or https, got "${raw}"`);
  const rest = schemeAt < 0 ? raw : raw.slice(schemeAt + 3);
  const slash = rest.indexOf("/");
  const hostPort = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash).replace(/\/+$/, "");

  let defaultPort: number;
  if (schemeAt >= 0) defaultPort = scheme === "https" ? 443 : 80;
  else if (env.HEARTH_PORT) defaultPort = port(env.HEARTH_PORT, "HEARTH_PORT");
  else defaultPort = DEFAULT_PORT;

  let host = hostPort;
  let portNumber = defaultPort;
  const bracketed = hostPort.match(/^\[([^\]]*)\](?::(.*))?$/);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) portNumber = port(bracketed[2], "the port in HEARTH_HOST");
  } else if (hostPort.split(":").length === 2) {
    // One colon separates a port; more make a bare IPv6 address.
    const [name, portText] = hostPort.split(":") as [string, string];
    host = name;
    portNumber = port(portText, "the port in HEARTH_HOST");
  }
  if (host === "" || host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::") host = "::1";
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return `${scheme}://${hostForUrl}:${portNumber}${path}`;
}
