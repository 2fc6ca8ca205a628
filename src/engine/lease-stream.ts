import { Channel } from "./channel.ts";
import type { SequenceLease } from "./model-pool.ts";
import { CancelledError } from "../errors.ts";
import type { Timings } from "./types.ts";

/**
 * Runs a generation on a leased sequence and streams the events it pushes. The sequence goes
 * back to the pool however the work ends; the client's abort signal, or the consumer walking
 * away from the iterator (client gone), cancels it, and it then fails with CancelledError.
 */
export function streamOnLease<E>(
  lease: SequenceLease,
  clientSignal: AbortSignal | undefined,
  work: (channel: Channel<E>, signal: AbortSignal) => Promise<void>,
): AsyncIterable<E> {
  const channel = new Channel<E>();
  const abort = new AbortController();
  const onClientAbort = () => abort.abort();
  clientSignal?.addEventListener("abort", onClientAbort, { once: true });
  // A signal that fired before the listener was added never calls it.
  if (clientSignal?.aborted) abort.abort();
  work(channel, abort.signal)
    .then(() => channel.close())
    .catch((err) => channel.fail(abort.signal.aborted ? new CancelledError() : err))
    .finally(() => {
      clientSignal?.removeEventListener("abort", onClientAbort);
      lease.release();
    });
  return (async function* () {
    try {
      yield* channel;
    } finally {
      abort.abort();
    }
  })();
}

/** A finished request's durations in nanoseconds; prompt evaluation is what preceded the first token, less loading. */
export function timingsSince(startedAt: bigint, firstTokenAt: bigint | undefined, loadNs: number): Timings {
  const now = process.hrtime.bigint();
  const firstAt = firstTokenAt ?? now;
  return {
    loadNs,
    promptEvalNs: Math.max(0, Number(firstAt - startedAt) - loadNs),
    evalNs: Number(now - firstAt),
    totalNs: Number(now - startedAt),
  };
}
