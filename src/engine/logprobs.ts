import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { TokenLogprob } from "./types.ts";

/**
 * node-llama-cpp's chat loop does not expose token probabilities, so they are measured after
 * the fact: the generated tokens are evaluated again from the position where generation began
 * (one batch, like a prefill), reading each position's logits. The sequence ends up holding the
 * same tokens as before, so its prompt cache stays valid.
 *
 * @param start the sequence position of the first generated token
 * @param generated every token generated, in order
 */
export async function measureLogprobs(
  sequence: LlamaContextSequence,
  model: LlamaModel,
  start: number,
  generated: Token[],
  top: number,
): Promise<TokenLogprob[]> {
  if (generated.length === 0 || start < 1) return [];
  const previous = sequence.contextTokens[start - 1]!;
  await sequence.eraseContextTokenRanges([{ start: start - 1, end: sequence.nextTokenIndex }]);
  const inputs = [previous, ...generated.slice(0, -1)];
  const outputs = await sequence.controlledEvaluate(
    inputs.map((token, i) => [
      token,
      { generateNext: { logits: { filter: { tokens: [generated[i]!], includeTop: Math.max(top, 1), includeMax: true } }, totalLogitWeight: true } },
    ]),
  );
  return generated.map((token, i) => {
    const next = outputs[i]?.next;
    const logits = next?.logits ?? new Map<Token, number>();
    const max = Math.max(...logits.values());
    const logNormalizer = max + Math.log(next?.totalLogitWeight ?? 1);
    const entry = (t: Token, logit: number) => {
      const text = model.detokenize([t], true);
      return { token: text, logprob: Math.min(0, logit - logNormalizer), bytes: [...Buffer.from(text, "utf8")] };
    };
    const alternatives = [...logits.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    return { ...entry(token, logits.get(token) ?? -Infinity), top: alternatives.map(([t, l]) => entry(t, l)) };
  });
}
