import { expect, test } from "bun:test";
import type { Token } from "node-llama-cpp";
import { PredictionDrafter } from "../../src/engine/prediction.ts";

// The drafter's bookkeeping alone: what it drafts as node-llama-cpp tells it of the answer.

const PROMPT = [900, 901, 902] as Token[];

/** A drafter following `prediction` for an answer after PROMPT, as node-llama-cpp starts an evaluation. */
function drafting(prediction: number[]): PredictionDrafter {
  const drafter = new PredictionDrafter("on");
  drafter.follow(prediction as Token[]);
  drafter.reset({ stateTokens: PROMPT });
  return drafter;
}

/** Feeds the answer token by token; returns what was drafted before each one. */
function draftsAlong(drafter: PredictionDrafter, answer: number[]): Array<number | undefined> {
  return answer.map((token) => {
    const [draft] = drafter.predictTokens();
    drafter.pushTokens([token as Token]);
    return draft;
  });
}

test("an answer repeating its prediction gets each next token drafted, from the first on", () => {
  expect(draftsAlong(drafting([1, 2, 3, 4]), [1, 2, 3, 4, 5])).toEqual([1, 2, 3, 4, undefined]);
});

test("after an edit, drafting resumes once two answer tokens in a row are found in the prediction again", () => {
  //                                                    answer:  1  2  9   3          4  5
  expect(draftsAlong(drafting([1, 2, 3, 4, 5, 6]), [1, 2, 9, 3, 4, 5])).toEqual([1, 2, 3, undefined, undefined, 5]);
  // an insertion: the answer goes on where the prediction left off
  expect(draftsAlong(drafting([1, 2, 3, 4, 5]), [1, 2, 7, 8, 2, 3, 4])).toEqual([1, 2, 3, undefined, undefined, undefined, 4]);
});

test("a passage the prediction holds twice is followed in order: the next occurrence, not the first", () => {
  const prediction = [5, 6, 7, 1, 5, 6, 8];
  // the answer leaves the prediction after 7 and meets it again at "5 6": the occurrence after where it was
  expect(draftsAlong(drafting(prediction), [5, 6, 7, 9, 5, 6, 8])).toEqual([5, 6, 7, 1, undefined, undefined, 8]);
});

test("a restarted evaluation finds the answer so far in the prediction", () => {
  const drafter = drafting([1, 2, 3, 4, 5]);
  drafter.reset({ stateTokens: [...PROMPT, 1, 2, 3] as Token[] });
  expect(drafter.predictTokens()).toEqual([4] as Token[]);
});

test("without a prediction nothing is drafted", () => {
  const drafter = drafting([1, 2, 3]);
  drafter.follow(undefined);
  drafter.reset({ stateTokens: PROMPT });
  expect(draftsAlong(drafter, [1, 2, 3])).toEqual([undefined, undefined, undefined]);
});

test("the decode verifying a draft takes it once", () => {
  const drafter = drafting([1, 2]);
  drafter.predictTokens();
  expect(drafter.takeDraft()).toBe(1 as Token);
  expect(drafter.takeDraft()).toBeUndefined();
});
