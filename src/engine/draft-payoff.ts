/**
 * When drafting from a prediction: `auto` where it pays on this machine, as measured; `on` always;
 * `off` never (the prediction is then only counted, never decoded).
 */
export type DraftingMode = "auto" | "on" | "off";
export const DRAFTING_MODES: readonly DraftingMode[] = ["auto", "on", "off"];

/** Decode steps timed each way before choosing. */
const STEPS_PER_SIDE = 8;
/** Drafting must beat plain decoding by this much to be chosen: a tie is not worth the extra evaluations. */
const REQUIRED_GAIN = 1.05;

/**
 * Whether drafting pays, measured on the decode steps themselves. A drafted step evaluates two
 * tokens to produce one or two; it pays where such a step costs little more than a plain one (GPUs,
 * CPUs whose decoding waits on memory) and loses where it costs twice as much or more (llama.cpp's
 * CPU kernels take ~2.7x as long for two tokens as for one on a 2-core AVX2 EPYC). Steps are timed
 * plain first, then drafted; the faster way per generated token (medians, so a step that also
 * evaluated a prompt does not count) is kept for good.
 */
export class DraftPayoff {
  private readonly plain: number[] = [];
  private readonly drafted: number[] = [];
  private decided?: boolean;

  constructor(private readonly mode: DraftingMode) {}

  /** Whether the next step should carry a draft. */
  wantsDraft(): boolean {
    if (this.mode !== "auto") return this.mode === "on";
    return this.decided ?? this.plain.length >= STEPS_PER_SIDE;
  }

  /** A decode step took `ms` and produced `tokens` tokens of the answer, with a draft or without. */
  record(drafted: boolean, tokens: number, ms: number): void {
    if (this.mode !== "auto" || this.decided !== undefined || tokens === 0) return;
    (drafted ? this.drafted : this.plain).push(ms / tokens);
    if (this.drafted.length < STEPS_PER_SIDE) return;
    this.decided = median(this.plain) > median(this.drafted) * REQUIRED_GAIN;
  }

  /** Whether steps carry drafts for good: undefined while it is still measuring. */
  get decision(): boolean | undefined {
    return this.mode === "auto" ? this.decided : this.mode === "on";
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}
