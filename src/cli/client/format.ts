/** Ollama's human-readable numbers, times and tables, so `hearth` prints what `ollama` prints. */

const UNITS: Array<[number, string]> = [
  [1e12, "TB"],
  [1e9, "GB"],
  [1e6, "MB"],
  [1e3, "KB"],
];

/** Decimal units: "1.1 GB", "504 MB", "12 B"; one decimal below 10, none from 10 on. */
export function humanBytes(bytes: number): string {
  const b = Math.trunc(bytes);
  for (const [size, unit] of UNITS) {
    if (b < size) continue;
    const value = b / size;
    if (value >= 10 || Number.isInteger(value)) return `${Math.trunc(value)} ${unit}`;
    return `${value.toFixed(1)} ${unit}`;
  }
  return `${b} B`;
}

/** An approximate span: "Less than a second", "About a minute", "4 hours", "2 weeks". */
function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 minutes ago", "4 minutes from now", or "Forever" for a time more than 20 years ahead. */
export function humanTime(time: Date, now: number = Date.now()): string {
  const delta = now - time.getTime();
  if (Math.trunc(delta / 3_600_000 / 24 / 365) < -20) return "Forever";
  return delta < 0 ? `${humanDuration(-delta)} from now` : `${humanDuration(delta)} ago`;
}

/** A progress bar's time left, at most two units as Go prints durations: "6s", "1m30s", "2h5m", "99h+". */
export function etaText(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 100 * 3600) return "99h+";
  if (s >= 3600) return `${Math.trunc(s / 3600)}h${Math.trunc(s / 60) % 60}m`;
  if (s >= 60) return `${Math.trunc(s / 60)}m${s % 60}s`;
  return `${s}s`;
}

/** Greedy word wrap at `width` columns; a longer word keeps its own line. */
function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/**
 * Ollama's borderless tables (tablewriter): columns left-aligned, four spaces apart, cells
 * wrapped at `wrapWidth` columns. Trailing padding is dropped; Ollama leaves it, but it is
 * invisible and only gets in the way of whoever reads the output with a script.
 */
export function table(rows: string[][], { header, wrapWidth = 30 }: { header?: string[]; wrapWidth?: number } = {}): string {
  const cells = rows.map((row) => row.map((cell) => wrap(cell, wrapWidth)));
  const all = header ? [header.map((h) => [h]), ...cells] : cells;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, ...cell.map((l) => l.length))));
  const out: string[] = [];
  for (const row of all) {
    const height = Math.max(1, ...row.map((cell) => cell.length));
    for (let line = 0; line < height; line++) {
      out.push(
        row
          .map((cell, i) => (cell[line] ?? "").padEnd(widths[i]!))
          .join("    ")
          .trimEnd(),
      );
    }
  }
  return out.map((l) => l + "\n").join("");
}
