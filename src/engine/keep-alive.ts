import { InvalidRequestError } from "./types.ts";

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Ollama's keep_alive: a Go duration string ("5m", "1h30m", "10s") or a number of seconds; a
 * negative value keeps the model loaded forever (Infinity) and 0 unloads it after the request.
 * A bare number in a string ("300") is read as seconds, as Ollama's OLLAMA_KEEP_ALIVE reads it.
 * undefined: the server's default.
 */
export function keepAliveMs(value: string | number | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === "number" ? value * 1000 : parseDuration(value.trim());
  return ms < 0 ? Infinity : ms;
}

function parseDuration(text: string): number {
  if (/^[-+]?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const sign = text.startsWith("-") ? -1 : 1;
  let rest = text.replace(/^[-+]/, "");
  if (rest === "") throw invalid(text);
  let total = 0;
  while (rest !== "") {
    const part = PART.exec(rest);
    if (!part) throw invalid(text);
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
    rest = rest.slice(part[0].length);
  }
  return sign * total;
}

function invalid(text: string): InvalidRequestError {
  return new InvalidRequestError(`keep_alive: invalid duration "${text}"; use a number of seconds or a duration such as "5m", "1h30m" or "10s"`, "keep_alive");
}
