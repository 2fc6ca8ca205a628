/**
 * A single-consumer async queue: node-llama-cpp reports progress through callbacks, and the
 * adapters want an async iterable they can render and abandon.
 */
export class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiting?: () => void;
  private closed = false;
  private failure?: { error: unknown };

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.close();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.closed) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
