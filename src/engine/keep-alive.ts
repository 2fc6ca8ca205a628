import { durationMs } from "../duration.ts";
import { InvalidRequestError } from "../errors.ts";

/**
 * Ollama's keep_alive: a Go duration string ("5m", "1h30m", "10s") or a number of seconds; a
 * negative value keeps the model loaded forever (Infinity) and 0 unloads it after the request.
 * A bare number in a string ("300") is read as seconds, as Ollama's OLLAMA_KEEP_ALIVE reads it.
 * undefined: the server's default.
 */
export function keepAliveMs(value: string | number | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === "number" ? value * 1000 : durationMs(value.trim());
  if (ms === undefined) throw invalid(String(value).trim());
  return ms < 0 ? Infinity : ms;
}

function invalid(text: string): InvalidRequestError {
  return new InvalidRequestError(`keep_alive: invalid duration "${text}"; use a number of seconds or a duration such as "5m", "1h30m" or "10s"`, "keep_alive");
}
