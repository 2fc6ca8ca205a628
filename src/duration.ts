const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)/;

/**
 * A Go duration string ("5m", "1h30m", "-10s"; days "90d" and weeks "2w" too) or a bare number of seconds ("300"), as Ollama's
 * settings are written, in milliseconds; undefined when it is neither.
 */
export function durationMs(text: string): number | undefined {
  if (/^[-+]?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const sign = text.startsWith("-") ? -1 : 1;
  let rest = text.replace(/^[-+]/, "");
  if (rest === "") return undefined;
  let total = 0;
  while (rest !== "") {
    const part = PART.exec(rest);
    if (!part) return undefined;
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
    rest = rest.slice(part[0].length);
  }
  return sign * total;
}
