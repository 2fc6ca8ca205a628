import { etaText, humanBytes } from "./format.ts";

/**
 * Progress displays for pull, push and create, after Ollama's progress package: on a terminal,
 * bars and spinners redrawn in place every 100 ms; elsewhere (logs, pipes), plain lines.
 * Time comes from `now` so that tests can render frames at chosen moments.
 */

export interface Output {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

export interface ProgressDisplay {
  /** A status without a size: the previous status stops and this one starts. */
  status(message: string): void;
  /** A transfer: a bar per key, updated with each report. */
  bar(key: string, message: string, total: number, completed: number): void;
  /** The last state, left on screen. */
  stop(): void;
}

const SPINNER_FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

const pad = (text: string, width: number) => text.padStart(width);

/** Go's %3.0f: halves round to even. */
function percentText(percent: number): string {
  let rounded = Math.round(percent);
  if (Math.abs(percent % 1) === 0.5 && rounded % 2 !== 0) rounded -= 1;
  return `${pad(String(rounded), 3)}%`;
}

interface Sample {
  at: number;
  value: number;
}

/** A transfer's bar: percent, bytes, a rate over the last ten seconds and the time left. */
export class Bar {
  private current: number;
  private readonly initial: number;
  private readonly started: number;
  private stopped?: number;
  /** one sample a second at most, the last ten: the rate follows recent speed, not the average */
  private samples: Sample[] = [];

  constructor(
    readonly message: string,
    readonly total: number,
    initial: number,
    now: number,
  ) {
    this.initial = this.current = initial;
    this.started = now;
    if (initial >= total) this.stopped = now;
  }

  get completed(): number {
    return this.current;
  }

  get done(): boolean {
    return this.stopped !== undefined;
  }

  set(value: number, now: number): void {
    this.current = Math.min(value, this.total);
    if (this.current >= this.total) this.stopped ??= now;
    const last = this.samples.at(-1);
    if (!last || now - last.at > 1000) {
      this.samples.push({ at: now, value: this.current });
      if (this.samples.length > 10) this.samples.shift();
    }
  }

  percent(): number {
    return this.total > 0 ? (this.current / this.total) * 100 : 0;
  }

  /** Bytes a second; 0 until a second has passed. Durations count in whole seconds, as Ollama's do. */
  rate(): number {
    let bytes = 0;
    let ms = 0;
    const [first, last] = [this.samples[0], this.samples.at(-1)];
    if (this.stopped !== undefined) [bytes, ms] = [this.current - this.initial, this.stopped - this.started];
    else if (first && last && first !== last) [bytes, ms] = [last.value - first.value, last.at - first.at];
    else if (first) [bytes, ms] = [first.value - this.initial, first.at - this.started];
    const seconds = Math.round(ms / 1000);
    return seconds !== 0 ? bytes / seconds : 0;
  }

  /** `pulling 8934d96d3f08:  45% ▕███████         ▏ 504 MB/1.1 GB   95 MB/s     6s`, `width` columns wide. */
  render(width: number): string {
    const message = this.message.trim();
    const pre = `${message ? `${message} ` : ""}${percentText(this.percent())}`;
    const rate = this.rate();
    const running = this.stopped === undefined;
    let suffix = running ? `${pad(humanBytes(this.current), 6)}/${pad(humanBytes(this.total), 6)}` : `${pad(humanBytes(this.total), 6)}${" ".repeat(7)}`;
    suffix += running && rate > 0 ? `  ${pad(humanBytes(rate), 6)}/s` : " ".repeat(10);
    suffix += running && rate > 0 ? `  ${pad(etaText(Math.trunc((this.total - this.current) / rate)), 6)}` : " ".repeat(8);
    // two bar ends and a space outside each
    const room = width - pre.length - suffix.length - 5;
    const filled = Math.max(0, Math.trunc((room * this.percent()) / 100));
    return `${pre} ▕${"█".repeat(filled)}${" ".repeat(Math.max(0, room - filled))}▏ ${suffix}`;
  }
}

/** A status line with a spinner that turns every 100 ms until it stops. */
export class Spinner {
  private stopped = false;

  constructor(
    readonly message: string,
    private readonly started: number,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  render(now: number): string {
    const message = this.message.trim();
    const frame = this.stopped ? "" : `${SPINNER_FRAMES[Math.floor((now - this.started) / 100) % SPINNER_FRAMES.length]} `;
    return `${message ? `${message} ` : ""}${frame}`;
  }
}

/** Bars and spinners as Ollama draws them: every state a line, the whole block redrawn in place. */
export class TerminalProgress implements ProgressDisplay {
  private readonly lines: Array<Bar | Spinner> = [];
  private readonly bars = new Map<string, Bar>();
  private spinner?: Spinner;
  /** lines drawn by the last frame, which the next one moves back over */
  private drawn = 0;
  private timer?: ReturnType<typeof setInterval>;
  private finished = false;

  constructor(
    private readonly out: Output,
    private readonly now: () => number = Date.now,
  ) {}

  /** Redraws every 100 ms, so spinners turn and rates update between reports. */
  start(): this {
    this.timer = setInterval(() => this.render(), 100);
    return this;
  }

  status(message: string): void {
    this.spinner?.stop();
    this.spinner = new Spinner(message, this.now());
    this.lines.push(this.spinner);
  }

  bar(key: string, message: string, total: number, completed: number): void {
    this.spinner?.stop();
    let bar = this.bars.get(key);
    if (!bar) {
      bar = new Bar(message, total, completed, this.now());
      this.bars.set(key, bar);
      this.lines.push(bar);
    }
    bar.set(completed, this.now());
  }

  /** One frame: back to the first line, every line rewritten and cleared to its end. */
  render(): void {
    const width = this.out.columns || 80;
    const shown = this.lines.slice(-(this.out.rows || 24));
    const now = this.now();
    const text = shown.map((line) => (line instanceof Bar ? line.render(width) : line.render(now)) + "\x1b[K").join("\n");
    // synchronized output, where the terminal supports it, and a hidden cursor keep the redraw from flickering
    this.out.write(`\x1b[?2026h\x1b[?25l${"\x1b[A".repeat(Math.max(0, this.drawn - 1))}\x1b[1G${text}\x1b[?25h\x1b[?2026l`);
    this.drawn = shown.length;
  }

  /** Ends the redraws; false when already ended. */
  private halt(): boolean {
    if (this.finished) return false;
    this.finished = true;
    clearInterval(this.timer);
    this.spinner?.stop();
    return true;
  }

  stop(): void {
    if (!this.halt()) return;
    this.render();
    this.out.write("\n");
  }

  /** Erases what was drawn (the spinner while a model answers gives way to the answer). */
  clear(): void {
    if (!this.halt()) return;
    let text = "";
    for (let i = 0; i < this.drawn; i++) text += `${i > 0 ? "\x1b[A" : ""}\x1b[2K\x1b[1G`;
    this.out.write(`\x1b[?25l${text}\x1b[?25h`);
  }
}

interface PlainBar {
  bar: Bar;
  /** what the last printed line said: its tenth of the way and when */
  tenth: number;
  at: number;
}

/** How often a transfer that moves but crosses no tenth still prints a line. */
const PLAIN_INTERVAL_MS = 5000;

/**
 * Progress for logs: one line per status, and per transfer a line when it starts, at each tenth
 * of the way, every few seconds between (for slow ones) and when it is done.
 */
export class PlainProgress implements ProgressDisplay {
  private readonly bars = new Map<string, PlainBar>();

  constructor(
    private readonly out: Output,
    private readonly now: () => number = Date.now,
  ) {}

  status(message: string): void {
    this.out.write(`${message.trim()}\n`);
  }

  bar(key: string, message: string, total: number, completed: number): void {
    const now = this.now();
    let entry = this.bars.get(key);
    if (!entry) {
      const bar = new Bar(message, total, completed, now);
      entry = { bar, tenth: this.tenth(bar), at: now };
      this.bars.set(key, entry);
      this.print(bar);
      return;
    }
    const { bar } = entry;
    if (bar.done) return;
    const before = bar.completed;
    bar.set(completed, now);
    const tenth = this.tenth(bar);
    if (bar.done || tenth > entry.tenth || (bar.completed !== before && now - entry.at >= PLAIN_INTERVAL_MS)) {
      entry.tenth = tenth;
      entry.at = now;
      this.print(bar);
    }
  }

  stop(): void {}

  private tenth(bar: Bar): number {
    return Math.floor(bar.percent() / 10);
  }

  private print(bar: Bar): void {
    const message = bar.message.trim();
    const percent = `${Math.floor(bar.percent())}%`;
    const rate = bar.rate();
    const amount = bar.done ? humanBytes(bar.total) : `${humanBytes(bar.completed)}/${humanBytes(bar.total)}${rate > 0 ? `, ${humanBytes(rate)}/s` : ""}`;
    this.out.write(`${message ? `${message} ` : ""}${percent} (${amount})\n`);
  }
}

export type ProgressOutput = Output & { isTTY?: boolean };

/** Bars on a terminal, lines elsewhere. */
export function openProgress(out: ProgressOutput): ProgressDisplay {
  return out.isTTY ? new TerminalProgress(out).start() : new PlainProgress(out);
}
