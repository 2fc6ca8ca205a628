import type { LlamaContext } from "node-llama-cpp";

type DecodeItem = { sequenceId?: number; afterBatchAction?: (sequenceStateLength: number) => unknown };
type DecodeTokens = (item: DecodeItem, logitDataMapper: unknown) => Promise<unknown>;
type Internals = { _decodeTokens?: DecodeTokens; _queuedDecodes?: DecodeItem[] };

/**
 * Makes concurrent sequences of one context decode as one batch per step, fixing two things that
 * otherwise serialize them:
 *
 * - node-llama-cpp's dispatch loop composes the next batch as soon as a decode returns, before the
 *   sequences whose tokens it just decoded have sampled and queued their next token (that takes a
 *   few promise hops), so they miss it and wait a whole decode: two streams alternate in batches of
 *   one, four run in batches of three. Letting one macrotask pass after each decode (through the
 *   decode's after-batch hook, which the loop awaits) gives every sequence time to queue.
 * - node-llama-cpp gives each sequence its own KV stream, and llama.cpp then splits a batch into
 *   micro-batches of *consecutive, increasing* sequence ids, each a full pass over the weights.
 *   The queue is in the order the sequences finished sampling, so four streams in the order 2, 0,
 *   3, 1 cost four passes. Keeping the queue sorted by sequence id lets every run of consecutive
 *   sequences share one pass.
 *
 * `_decodeTokens` and `_queuedDecodes` are node-llama-cpp internals; if a release renames them,
 * this does nothing and batching falls back to the library's own behaviour.
 */
export function keepSequencesInStep(context: LlamaContext): void {
  const internal = context as unknown as Internals;
  const decodeTokens = internal._decodeTokens;
  if (typeof decodeTokens !== "function") return;
  internal._decodeTokens = (item, logitDataMapper) => {
    const queued = decodeTokens.call(
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
    // The item is queued synchronously; the dispatch that reads the queue runs later.
    internal._queuedDecodes?.sort((a, b) => (a.sequenceId ?? 0) - (b.sequenceId ?? 0));
    return queued;
  };
}
