import type { LlamaContextSequence, Token } from "node-llama-cpp";

/** Maps a decoded position's logits to its result (a sampled token, for generation); node-llama-cpp calls it position by position, each after the previous one resolved. */
type LogitMapper = (batchLogitIndex: number, tokenIndex: number) => unknown;
type DecodeTokens = (
  tokens: Token[],
  logits: boolean[],
  evaluationPriority: unknown,
  tokenMeter: unknown,
  contextShift: unknown,
  logitMapper: LogitMapper,
  afterBatchAction?: unknown,
) => Promise<unknown[]>;

/**
 * Keeps a seeded answer the same with and without a prediction. node-llama-cpp decodes a drafted
 * token together with the token before it and samples at both positions; when the token sampled
 * first is not the draft, the draft is refuted and the second sample thrown away, but that sample
 * has already taken a draw from the seeded random generator, so every later token of a
 * temperature > 0 answer would differ from the answer without the draft. Here the second position
 * is sampled only when the draft was confirmed, exactly when decoding without drafts would sample
 * the same token next; a refuted one gets the draft back as a placeholder, which node-llama-cpp
 * discards with it.
 *
 * `_decodeTokens` is a node-llama-cpp internal; if a release renames it, this does nothing and
 * answers with temperature > 0 may part from the undrafted answer after a refuted draft.
 *
 * @param takeDraft the token the sequence's predictor drafted for the decode now starting, if any
 */
export function guardDraftDraws(sequence: LlamaContextSequence, takeDraft: () => Token | undefined): void {
  const internal = sequence as unknown as { _decodeTokens?: DecodeTokens };
  const decodeTokens = internal._decodeTokens;
  if (typeof decodeTokens !== "function") return;
  internal._decodeTokens = (tokens, logits, evaluationPriority, tokenMeter, contextShift, logitMapper, afterBatchAction) => {
    const draft = takeDraft();
    const at = tokens.length - 1;
    // The predictor's draft is the last token, sampled at like the token before it.
    const drafted = draft !== undefined && at > 0 && tokens[at] === draft && logits[at] === true && logits[at - 1] === true;
    if (!drafted) return decodeTokens.call(sequence, tokens, logits, evaluationPriority, tokenMeter, contextShift, logitMapper, afterBatchAction);
    let sampledBefore: unknown;
    const guarded: LogitMapper = (batchLogitIndex, tokenIndex) => {
      if (tokenIndex === at) return sampledBefore === draft ? logitMapper(batchLogitIndex, tokenIndex) : draft;
      const result = logitMapper(batchLogitIndex, tokenIndex);
      if (tokenIndex !== at - 1) return result;
      return Promise.resolve(result).then((value) => {
        // [token, probabilities, confidence] when those are asked for
        sampledBefore = Array.isArray(value) ? value[0] : value;
        return value;
      });
    };
    return decodeTokens.call(sequence, tokens, logits, evaluationPriority, tokenMeter, contextShift, guarded, afterBatchAction);
  };
}
