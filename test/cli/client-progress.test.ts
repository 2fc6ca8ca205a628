import { describe, expect, test } from "bun:test";
import type { ProgressResponse } from "../../src/cli/client/api.ts";
import { Bar, PlainProgress, Spinner, TerminalProgress } from "../../src/cli/client/progress.ts";
import { followProgress } from "../../src/cli/client/transfer-progress.ts";

const T0 = 1_000_000;
const LAYER = "sha256:8934d96d3f08a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e";
const SMALL = "sha256:62fbfd9ed093d6e5ac83190c86eec5369317919f4b149598d2dbb38900e9faef";

/** A display's output and a clock the test moves. */
function harness(columns = 80, rows = 24) {
  const out = { text: "", columns, rows, write: (s: string) => (out.text += s) };
  const clock = { now: T0 };
  return { out, clock, now: () => clock.now };
}

/** Ollama's pull stream for a model of one big and one small layer. */
const PULL: ProgressResponse[] = [
  { status: "pulling manifest" },
  { status: `pulling ${LAYER.slice(7, 19)}`, digest: LAYER, total: 1_117_000_000 },
  { status: `pulling ${SMALL.slice(7, 19)}`, digest: SMALL, total: 485 },
  { status: `pulling ${LAYER.slice(7, 19)}`, digest: LAYER, total: 1_117_000_000, completed: 50_000_000 },
  { status: `pulling ${LAYER.slice(7, 19)}`, digest: LAYER, total: 1_117_000_000, completed: 120_000_000 },
  { status: `pulling ${LAYER.slice(7, 19)}`, digest: LAYER, total: 1_117_000_000, completed: 504_000_000 },
  { status: `pulling ${LAYER.slice(7, 19)}`, digest: LAYER, total: 1_117_000_000, completed: 1_117_000_000 },
  { status: `pulling ${SMALL.slice(7, 19)}`, digest: SMALL, total: 485, completed: 485 },
  { status: "verifying sha256 digest" },
  { status: "writing manifest" },
  { status: "success" },
];

describe("Bar", () => {
  test("percent, bytes, rate over whole seconds and time left, 80 columns wide", () => {
    const bar = new Bar("pulling 8934d96d3f08:", 1_117_000_000, 0, T0);
    bar.set(0, T0);
    bar.set(504_000_000, T0 + 6000);
    // 504 MB in 6 s is 84 MB/s; 613 MB left at that rate is 7 s
    const line = bar.render(80);
    expect(line).toBe(`pulling 8934d96d3f08:  45% ▕${"█".repeat(8)}${" ".repeat(10)}▏ 504 MB/1.1 GB   84 MB/s      7s`);
    expect(line.length).toBe(79);
  });

  test("no rate or time left within the first second", () => {
    const bar = new Bar("pulling 8934d96d3f08:", 1_117_000_000, 0, T0);
    bar.set(50_000_000, T0 + 400);
    expect(bar.render(80)).toEndWith("▏  50 MB/1.1 GB                  ");
  });

  test("done: the total alone, the bar full", () => {
    const bar = new Bar("pulling 8934d96d3f08:", 1_117_000_000, 0, T0);
    bar.set(1_117_000_000, T0 + 12_000);
    const line = bar.render(80);
    expect(line).toStartWith("pulling 8934d96d3f08: 100% ▕████");
    expect(line).toEndWith("█▏ 1.1 GB                         ");
    expect(line).not.toContain(" ▏");
  });

  test("the bar takes what the terminal's width leaves", () => {
    const bar = new Bar("x", 100, 50, T0);
    expect(bar.render(120).length).toBe(119);
    // too narrow for a bar: its ends alone
    expect(bar.render(40)).toBe(`x  50% ▕▏   50 B/ 100 B                  `);
  });
});

test("Spinner: turns every 100 ms, and loses its frame once stopped", () => {
  const spinner = new Spinner("pulling manifest", T0);
  expect(spinner.render(T0)).toBe("pulling manifest ⠋ ");
  expect(spinner.render(T0 + 250)).toBe("pulling manifest ⠹ ");
  spinner.stop();
  expect(spinner.render(T0 + 300)).toBe("pulling manifest ");
});

describe("TerminalProgress: Ollama's pull, redrawn in place", () => {
  const frame = (moveUp: number, lines: string[]) => `\x1b[?2026h\x1b[?25l${"\x1b[A".repeat(moveUp)}\x1b[1G${lines.map((l) => `${l}\x1b[K`).join("\n")}\x1b[?25h\x1b[?2026l`;

  test("frames go back over the lines they drew; stop leaves the last one and a newline", () => {
    const { out, clock, now } = harness();
    const display = new TerminalProgress(out, now);
    const follow = followProgress("pull", display);
    follow(PULL[0]!);
    display.render();
    expect(out.text).toBe(frame(0, ["pulling manifest ⠋ "]));

    out.text = "";
    // layers announced at 0 get no bar yet
    follow(PULL[1]!);
    follow(PULL[2]!);
    clock.now += 100;
    display.render();
    expect(out.text).toBe(frame(0, ["pulling manifest ⠙ "]));

    out.text = "";
    follow(PULL[3]!);
    display.render();
    const bar = `pulling 8934d96d3f08:   4% ▕${" ".repeat(18)}▏  50 MB/1.1 GB                  `;
    expect(out.text).toBe(frame(0, ["pulling manifest ", bar]));

    out.text = "";
    for (const response of PULL.slice(4)) {
      clock.now += 1500;
      follow(response);
    }
    display.stop();
    expect(out.text).toBe(
      frame(1, [
        "pulling manifest ",
        `pulling 8934d96d3f08: 100% ▕${"█".repeat(18)}▏ 1.1 GB                         `,
        `pulling 62fbfd9ed093: 100% ▕${"█".repeat(18)}▏  485 B                         `,
        "verifying sha256 digest ",
        "writing manifest ",
        "success ",
      ]) + "\n",
    );
  });

  test("only the last lines that fit the terminal's height are drawn", () => {
    const { out, now } = harness(80, 2);
    const display = new TerminalProgress(out, now);
    for (const status of ["one", "two", "three"]) display.status(status);
    display.render();
    expect(out.text).toBe(frame(0, ["two ", "three ⠋ "]));
  });

  test("clear erases what was drawn", () => {
    const { out, now } = harness();
    const display = new TerminalProgress(out, now);
    display.status("");
    display.status("loading");
    display.render();
    out.text = "";
    display.clear();
    expect(out.text).toBe("\x1b[?25l\x1b[2K\x1b[1G\x1b[A\x1b[2K\x1b[1G\x1b[?25h");
    display.stop();
    expect(out.text).not.toEndWith("\n");
  });
});

describe("PlainProgress: lines for logs", () => {
  test("a line per status and per tenth of a layer", () => {
    const { out, clock, now } = harness();
    const follow = followProgress("pull", new PlainProgress(out, now));
    for (const response of PULL) {
      clock.now += 100;
      follow(response);
    }
    expect(out.text).toBe(
      [
        "pulling manifest",
        "pulling 8934d96d3f08: 4% (50 MB/1.1 GB)",
        "pulling 8934d96d3f08: 10% (120 MB/1.1 GB)",
        "pulling 8934d96d3f08: 45% (504 MB/1.1 GB)",
        "pulling 8934d96d3f08: 100% (1.1 GB)",
        "pulling 62fbfd9ed093: 100% (485 B)",
        "verifying sha256 digest",
        "writing manifest",
        "success",
        "",
      ].join("\n"),
    );
  });

  test("a slow transfer still prints every few seconds, with its rate", () => {
    const { out, clock, now } = harness();
    const display = new PlainProgress(out, now);
    display.bar(LAYER, "pulling 8934d96d3f08:", 1_000_000_000, 1_000_000);
    for (let i = 2; i <= 12; i++) {
      clock.now += 1001;
      display.bar(LAYER, "pulling 8934d96d3f08:", 1_000_000_000, i * 1_000_000);
    }
    // 12 reports over 11 s, all within the first tenth: the first, then one every 5 s
    expect(out.text.trim().split("\n")).toEqual([
      "pulling 8934d96d3f08: 0% (1 MB/1 GB)",
      "pulling 8934d96d3f08: 0% (6 MB/1 GB, 1 MB/s)",
      "pulling 8934d96d3f08: 1% (11 MB/1 GB, 1 MB/s)",
    ]);
  });
});

describe("followProgress labels", () => {
  const record = () => {
    const calls: string[] = [];
    return {
      calls,
      display: {
        status: (m: string) => calls.push(`status ${m}`),
        bar: (key: string, m: string, total: number, completed: number) => calls.push(`bar ${key.slice(7, 11)} ${m} ${completed}/${total}`),
        stop: () => {},
      },
    };
  };

  test("push: the status names the bar; a status repeated is one line", () => {
    const { calls, display } = record();
    const follow = followProgress("push", display);
    follow({ status: "retrieving manifest" });
    follow({ status: "retrieving manifest" });
    follow({ status: "starting upload", digest: LAYER, total: 100 });
    follow({ status: "", digest: SMALL, total: 10, completed: 5 });
    follow({ status: "pushing manifest" });
    follow({ status: "success" });
    expect(calls).toEqual(["status retrieving manifest", "bar 8934 starting upload 0/100", "bar 62fb pushing 62fbfd9ed093... 5/10", "status pushing manifest", "status success"]);
  });

  test("create: statuses, and a quantization bar", () => {
    const { calls, display } = record();
    const follow = followProgress("create", display);
    follow({ status: "parsing GGUF" });
    follow({ status: "quantizing F16 model to Q4_K_M", digest: "0", total: 100, completed: 12 });
    follow({ status: "writing manifest" });
    expect(calls).toEqual(["status parsing GGUF", "bar  quantizing F16 model to Q4_K_M 12/100", "status writing manifest"]);
  });
});
