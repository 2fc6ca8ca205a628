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
  values: Record<string, number | undefined>;
}

export interface Summary {
  targets: string[];
  rows: Row[];
}

const median = (xs: number[]): number | undefined => (xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);

/** Medians per side; the in-process baseline has no conversation rows. */
export function summarize(servers: Map<string, TargetRuns>, inProcess: TargetRuns): Summary {
  const all = new Map([...servers, ["in-process", inProcess]]);
  const targets = [...all.keys()];
  const row = (label: string, better: Row["better"], unit: string, pick: (runs: TargetRuns) => number | undefined): Row => ({
    label,
    better,
    unit,
    values: Object.fromEntries(targets.map((name) => [name, pick(all.get(name)!)])),
  });
  const aggregateAt = (runs: TargetRuns, streams: number) => median((runs.aggregate[streams] ?? []).map((a) => a.tps));
  const concurrency = Object.keys(servers.values().next().value?.aggregate ?? {}).map(Number);
  const lengths = Object.keys(servers.values().next().value?.prefill ?? {}).map(Number);
  return {
    targets,
    rows: [
      ...lengths.map((n) => row(`prefill ~${n} tokens`, "higher", "tok/s", (r) => median((r.prefill[n] ?? []).map((s) => s.prefillTps)))),
      row("single-stream decode", "higher", "tok/s", (r) => median(r.single.map((s) => s.decodeTps))),
      ...concurrency.map((n) => row(`aggregate, ${n} stream${n > 1 ? "s" : ""}`, "higher", "tok/s", (r) => aggregateAt(r, n))),
      row("aggregate 4 streams ÷ 1 stream", "higher", "×", (r) => {
        const one = aggregateAt(r, 1);
        const four = aggregateAt(r, 4);
        return one && four ? four / one : undefined;
      }),
      row("first-turn TTFT", "lower", "ms", (r) => median(r.secondTurn.map((t) => t.firstTtftMs))),
      row("second-turn TTFT", "lower", "ms", (r) => median(r.secondTurn.map((t) => t.secondTtftMs))),
      row("second-turn ÷ first-turn TTFT", "lower", "%", (r) => {
        const ratio = median(r.secondTurn.map((t) => t.ratio));
        return ratio === undefined ? undefined : ratio * 100;
      }),
    ],
  };
}

/**
 * A Markdown table: each side's medians, then Hearth's ratio to each other side; against
 * llama-server a mark says whether Hearth is the better one.
 */
export function formatReport(summary: Summary): string {
  const others = summary.targets.filter((t) => t !== "hearth");
  const header = `| | ${summary.targets.join(" | ")} | ${others.map((o) => `hearth ÷ ${o}`).join(" | ")} |`;
  const rule = `|---|${summary.targets.map(() => "---").join("|")}|${others.map(() => "---").join("|")}|`;
  const lines = summary.rows.map((row) => {
    const cells = summary.targets.map((t) => format(row.values[t]));
    const ratios = others.map((other) => {
      const mine = row.values.hearth;
      const theirs = row.values[other];
      if (mine === undefined || theirs === undefined) return "";
      if (other !== "llama-server") return (mine / theirs).toFixed(2);
      const wins = row.better === "higher" ? mine >= theirs : mine <= theirs;
      return `${(mine / theirs).toFixed(2)} ${wins ? "✓" : "✗"}`;
    });
    return `| ${row.label} (${row.unit}) | ${cells.join(" | ")} | ${ratios.join(" | ")} |`;
  });
  return [header, rule, ...lines, "", ...targetLines(summary)].join("\n");
}

/** Hearth's targets, each with the measured value and whether it was met. */
function targetLines(summary: Summary): string[] {
  const value = (label: string, target: string) => summary.rows.find((r) => r.label === label)?.values[target];
  const ratioTo = (label: string, target: string) => {
    const mine = value(label, "hearth");
    const theirs = value(label, target);
    return mine === undefined || theirs === undefined ? undefined : mine / theirs;
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
