import { expect, test } from "bun:test";
import { formatReport, pairedRatio, summarize, type TargetRuns } from "../../scripts/bench/report.ts";

/** A side's runs where only the decode rate varies: one sample per run. */
function sideWithDecode(rates: number[]): TargetRuns {
  return {
    prefill: {},
    single: rates.map((decodeTps) => ({ promptTokens: 1000, completionTokens: 64, ttftMs: 5000, prefillTps: 200, decodeTps })),
    aggregate: {},
    secondTurn: [],
  };
}

const decodeRow = (servers: Record<string, number[]>) => {
  const summary = summarize(new Map(Object.entries(servers).map(([name, rates]) => [name, sideWithDecode(rates)])), sideWithDecode([]));
  return { summary, row: summary.rows.find((r) => r.label === "single-stream decode")! };
};

test("a ratio is the median of each run's ratio, so a stall that slows both sides of a run cancels out", () => {
  // Run 2 stalled for both sides; run 3 only for llama-server. The medians (190 against 175) come
  // from different runs, and their ratio (1.086) hides that Hearth was ahead by 1.11 in two runs of three.
  const { row } = decodeRow({ hearth: [200, 60, 190], "llama-server": [180, 50, 175] });
  expect(row.values.hearth).toBe(190);
  expect(row.values["llama-server"]).toBe(175);
  expect(pairedRatio(row, "llama-server")).toBeCloseTo(200 / 180, 6);
});

test("an even number of runs takes the mean of the middle two, for medians and ratios alike", () => {
  const { row } = decodeRow({ hearth: [30, 10], "llama-server": [10, 10] });
  expect(row.values.hearth).toBe(20);
  expect(pairedRatio(row, "llama-server")).toBe(2);
});

test("a run one side lacks is left out of the pairs", () => {
  const { row } = decodeRow({ hearth: [20, 22, 24], "llama-server": [20, 22] });
  expect(pairedRatio(row, "llama-server")).toBe(1);
});

test("the targets are checked against the paired ratios", () => {
  // Decode at --parallel 4 over --parallel 1: the medians' ratio is 24/25 = 0.96, which would fail
  // the 0.98 target, while the runs' pairs are 1.00, 1.20 and 0.67.
  const { summary } = decodeRow({ hearth: [24, 30, 20], "hearth --parallel 1": [24, 25, 30] });
  const report = formatReport(summary);
  expect(report).toContain("idle sequences cost a single stream ≤ 2% (decode at --parallel 4 ÷ --parallel 1 ≥ 0.98): 1.000× ✓");
  expect(report).toMatch(/\| single-stream decode \(tok\/s\) \| 24\.0 \| 25\.0 \|  \| 1\.00 \|/);
});
