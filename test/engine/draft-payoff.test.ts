import { expect, test } from "bun:test";
import type { Token } from "node-llama-cpp";
import { DraftPayoff } from "../../src/engine/draft-payoff.ts";
import { PredictionDrafter } from "../../src/engine/prediction.ts";

/** Eight plain steps of `plainMs` per token, then drafted steps of `draftedMs` for `tokens` tokens each, until it decides. */
function measure(plainMs: number, draftedMs: number, tokens: number): DraftPayoff {
  const payoff = new DraftPayoff("auto");
  while (!payoff.wantsDraft()) payoff.record(false, 1, plainMs);
  for (let i = 0; payoff.decision === undefined; i++) payoff.record(true, tokens, draftedMs);
  return payoff;
}

test("on and off need no measuring", () => {
  expect(new DraftPayoff("on").wantsDraft()).toBe(true);
  expect(new DraftPayoff("off").wantsDraft()).toBe(false);
  expect(new DraftPayoff("on").decision).toBe(true);
});

test("auto times plain steps first, then drafted ones, and keeps the faster way per token", () => {
  // a GPU: a two-token step costs about a one-token step, and drafts are confirmed
  const gpu = measure(10, 11, 2);
  expect(gpu.decision).toBe(true);
  expect(gpu.wantsDraft()).toBe(true);
  // llama.cpp's CPU kernels: two tokens cost ~2.7x one
  const cpu = measure(30, 81, 2);
  expect(cpu.decision).toBe(false);
  expect(cpu.wantsDraft()).toBe(false);
  // drafts that keep being refuted produce one token per dearer step
  expect(measure(10, 12, 1).decision).toBe(false);
  // a tie is not worth the extra evaluations
  expect(measure(10, 19.5, 2).decision).toBe(false);
});

test("the decision is kept: later steps change nothing", () => {
  const payoff = measure(30, 81, 2);
  for (let i = 0; i < 50; i++) payoff.record(false, 1, 1_000);
  expect(payoff.decision).toBe(false);
});

test("a drafter in auto mode drafts nothing while it times plain steps, and times only steps past the prompt's", () => {
  const drafter = new PredictionDrafter("auto");
  const prediction = Array.from({ length: 40 }, (_, i) => i + 1) as Token[];
  drafter.follow(prediction);
  drafter.reset({ stateTokens: [900, 901] as Token[] });
  const drafts: Array<Token | undefined> = [];
  for (const token of prediction) {
    drafts.push(drafter.predictTokens()[0]);
    drafter.pushTokens([token]);
  }
  // the prompt's step is not timed; the next eight are timed plain; then drafts
  expect(drafts.slice(0, 9)).toEqual(Array(9).fill(undefined));
  expect(drafts[9]).toBe(10 as Token);
});
