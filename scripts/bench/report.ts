import type { SecondTurn, SingleStream } from "./workload.ts";

/** Every sample one side produced over the runs. */
export interface TargetRuns {
  /** per prompt length asked for (tokens) */
  prefill: Record<number, SingleStream[]>;
  /** the answers to the first prompt length: decode after a ~1,000-token prompt */
  single: SingleStream[];
  aggregate: Record<number, Array<{ tps: number }>>;
  secondTurn: SecondTurn[];
}

interface Row {
  label: string;
  /** which way is better */
  better: "higher" | "lower";
  unit: string;
  /** each side's median */
  values: Record<string, number | undefined>;
  /** each side's value in every run, in run order (runs are interleaved, so run i of every side shares the machine's state) */
  runs: Record<string, Array<number | undefined>>;
}

export interface Summary {
  targets: string[];
  rows: Row[];
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  // An even count takes the mean of the middle two: the upper one alone would favour whichever side is on top.
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const defined = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);

/** Medians per side; the in-process baseline has no conversation rows. */
export function summarize(servers: Map<string, TargetRuns>, inProcess: TargetRuns): Summary {
  const all = new Map([...servers, ["in-process", inProcess]]);
  const targets = [...all.keys()];
  const row = (label: string, better: Row["better"], unit: string, perRun: (runs: TargetRuns) => Array<number | undefined>): Row => {
    const runs = Object.fromEntries(targets.map((name) => [name, perRun(all.get(name)!)]));
    return { label, better, unit, runs, values: Object.fromEntries(targets.map((name) => [name, median(defined(runs[name]!))])) };
  };
  const aggregateRuns = (runs: TargetRuns, streams: number) => (runs.aggregate[streams] ?? []).map((a) => a.tps);
  const concurrency = Object.keys(servers.values().next().value?.aggregate ?? {}).map(Number);
  const lengths = Object.keys(servers.values().next().value?.prefill ?? {}).map(Number);
  return {
    targets,
    rows: [
      ...lengths.map((n) => row(`prefill ~${n} tokens`, "higher", "tok/s", (r) => (r.prefill[n] ?? []).map((s) => s.prefillTps))),
      row("single-stream decode", "higher", "tok/s", (r) => r.single.map((s) => s.decodeTps)),
      ...concurrency.map((n) => row(`aggregate, ${n} stream${n > 1 ? "s" : ""}`, "higher", "tok/s", (r) => aggregateRuns(r, n))),
      row("aggregate 4 streams ÷ 1 stream", "higher", "×", (r) => {
        const one = aggregateRuns(r, 1);
        return aggregateRuns(r, 4).map((four, i) => (one[i] ? four / one[i]! : undefined));
      }),
      row("first-turn TTFT", "lower", "ms", (r) => r.secondTurn.map((t) => t.firstTtftMs)),
      row("second-turn TTFT", "lower", "ms", (r) => r.secondTurn.map((t) => t.secondTtftMs)),
      row("second-turn ÷ first-turn TTFT", "lower", "%", (r) => r.secondTurn.map((t) => t.ratio * 100)),
    ],
  };
}

/**
 * Hearth's value over another side's: the median of the ratios within each run, not the ratio of
 * the medians. A VM's stall slows every side measured in that stretch, so a run's pair shares it
 * and its ratio stays steady, while two medians can come from different stretches.
 */
export function pairedRatio(row: Row, other: string): number | undefined {
  const mine = row.runs.hearth ?? [];
  const theirs = row.runs[other] ?? [];
  return median(defined(mine.map((m, i) => (m !== undefined && theirs[i] ? m / theirs[i]! : undefined))));
}

/**
 * A Markdown table: each side's medians, then Hearth's ratio to each other side (pairedRatio);
 * against llama-server a mark says whether Hearth is the better one.
 */
export function formatReport(summary: Summary): string {
  const others = summary.targets.filter((t) => t !== "hearth");
  const header = `| | ${summary.targets.join(" | ")} | ${others.map((o) => `hearth ÷ ${o}`).join(" | ")} |`;
  const rule = `|---|${summary.targets.map(() => "---").join("|")}|${others.map(() => "---").join("|")}|`;
  const lines = summary.rows.map((row) => {
    const cells = summary.targets.map((t) => format(row.values[t]));
    const ratios = others.map((other) => {
      const ratio = pairedRatio(row, other);
      if (ratio === undefined) return "";
      if (other !== "llama-server") return ratio.toFixed(2);
      const wins = row.better === "higher" ? ratio >= 1 : ratio <= 1;
      return `${ratio.toFixed(2)} ${wins ? "✓" : "✗"}`;
    });
    return `| ${row.label} (${row.unit}) | ${cells.join(" | ")} | ${ratios.join(" | ")} |`;
  });
  return [header, rule, ...lines, "", ...targetLines(summary)].join("\n");
}

/** Hearth's targets, each with the measured value and whether it was met. */
function targetLines(summary: Summary): string[] {
  const value = (label: string, target: string) => summary.rows.find((r) => r.label === label)?.values[target];
  const ratioTo = (label: string, target: string) => {
    const row = summary.rows.find((r) => r.label === label);
    return row && pairedRatio(row, target);
  };
  const check = (name: string, measured: number | undefined, met: (v: number) => boolean, shown: (v: number) => string) =>
    measured === undefined ? `- ${name}: not measured` : `- ${name}: ${shown(measured)} ${met(measured) ? "✓" : "✗"}`;
  // Two decimals: one would show 94.97% as a failing "95.0%".
  const percent = (v: number) => `${(v * 100).toFixed(2)}%`;
  const lines = [
    "Targets:",
    check("single-stream decode ≥ 95% of in-process", ratioTo("single-stream decode", "in-process"), (v) => v >= 0.95, percent),
    ...summary.rows.filter((r) => r.values["in-process"] !== undefined && r.label.startsWith("prefill")).map((r) => check(`${r.label} ≥ 95% of in-process`, ratioTo(r.label, "in-process"), (v) => v >= 0.95, percent)),
    check("aggregate at 4 streams ≥ 1.7× single-stream", value("aggregate 4 streams ÷ 1 stream", "hearth"), (v) => v >= 1.7, (v) => `${v.toFixed(2)}×`),
    check("second-turn TTFT ≤ 5% of the first", value("second-turn ÷ first-turn TTFT", "hearth"), (v) => v <= 5, (v) => `${v.toFixed(1)}%`),
    check("idle sequences cost a single stream ≤ 2% (decode at --parallel 4 ÷ --parallel 1 ≥ 0.98)", ratioTo("single-stream decode", "hearth --parallel 1"), (v) => v >= 0.98, (v) => `${v.toFixed(3)}×`),
  ];
  if (summary.targets.includes("llama-server")) {
    const ratio = (v: number) => `${v.toFixed(2)}×`;
    for (const row of summary.rows.filter((r) => r.label.startsWith("prefill"))) {
      lines.push(check(`${row.label} ≥ 0.95× llama-server`, ratioTo(row.label, "llama-server"), (v) => v >= 0.95, ratio));
    }
    lines.push(
      check("single-stream decode at --parallel 4 ≥ 0.97× llama-server", ratioTo("single-stream decode", "llama-server"), (v) => v >= 0.97, ratio),
      check("aggregate at 4 streams ≥ 0.95× llama-server", ratioTo("aggregate, 4 streams", "llama-server"), (v) => v >= 0.95, ratio),
    );
  }
  return lines;
}

function format(value: number | undefined): string {
  if (value === undefined) return "";
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}
