import type { LlamaContext } from "node-llama-cpp";

type DecodeItem = { afterBatchAction?: (sequenceStateLength: number) => unknown };
type DecodeTokens = (item: DecodeItem, logitDataMapper: unknown) => Promise<unknown>;

/**
 * Keeps concurrent sequences in the same batches. node-llama-cpp's dispatch loop composes the next
 * batch as soon as a decode returns, before the sequences whose tokens it just decoded have sampled
 * and queued their next token (that takes a few promise hops), so they miss it and wait a whole
 * decode: two streams alternate in batches of one, four run in batches of three. Letting one
 * macrotask pass after each decode (through the decode's after-batch hook, which the loop awaits)
 * gives every sequence time to queue, and each step then decodes all of them together.
 *
 * `_decodeTokens` is node-llama-cpp's internal queueing method; if a release renames it, this
 * does nothing and batching falls back to the library's own behaviour.
 */
export function keepSequencesInStep(context: LlamaContext): void {
  const internal = context as unknown as { _decodeTokens?: DecodeTokens };
  const decodeTokens = internal._decodeTokens;
  if (typeof decodeTokens !== "function") return;
  internal._decodeTokens = (item, logitDataMapper) =>
    decodeTokens.call(
      context,
      {
        ...item,
        afterBatchAction: async (sequenceStateLength: number) => {
          await item.afterBatchAction?.(sequenceStateLength);
          await new Promise((resolve) => setImmediate(resolve));
        },
      },
      logitDataMapper,
    );
}
