/**
 * The source's values, with `beat()` put in whenever none has come for `everyMs` (a model
 * loading, a request queued, a long prompt being evaluated), so that clients and proxies that
 * give up on a silent connection see it is alive. Returning the result returns the source
 * without waiting for a value it may still be computing.
 */
export async function* withHeartbeat<T, B>(source: AsyncIterator<T>, everyMs: number, beat: () => B): AsyncGenerator<T | B> {
  let pending: Promise<IteratorResult<T>> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      pending ??= source.next();
      const tick = new Promise<"beat">((resolve) => (timer = setTimeout(() => resolve("beat"), everyMs)));
      const next = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (next === "beat") {
        yield beat();
        continue;
      }
      pending = undefined;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    if (pending) {
      // A value still on its way has nobody left to read it; its failure is nobody's to hear.
      pending.catch(() => undefined);
      void source.return?.(undefined)?.catch(() => undefined);
    } else await source.return?.(undefined);
  }
}

/** Whether the promise settles (either way) within `ms`; it is left to its callers to await. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = promise.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
