import { RateLimitedError } from "../errors.ts";
import type { Principal } from "./principal.ts";

const WINDOW_MS = 60_000;

/**
 * Per-credential limits: requests started in the last minute (a sliding window) and requests
 * being answered at once. A request over either is refused with 429 and how long to wait.
 */
export class Limits {
  private readonly started = new Map<string, number[]>();
  private readonly running = new Map<string, number>();

  /**
   * Admits a request or throws RateLimitedError. Under a parallel limit, the returned function ends
   * the request's share of it; undefined when there is none to end.
   */
  admit(principal: Principal, now = Date.now()): (() => void) | undefined {
    const { id, rpm, maxParallel } = principal;
    if (rpm !== undefined) {
      const recent = (this.started.get(id) ?? []).filter((at) => now - at < WINDOW_MS);
      if (recent.length >= rpm) {
        this.started.set(id, recent);
        const retryAfter = Math.max(1, Math.ceil((recent[0]! + WINDOW_MS - now) / 1000));
        throw new RateLimitedError(`Rate limit reached: this key may make ${rpm} request(s) per minute. Retry in ${retryAfter} s.`, retryAfter);
      }
      recent.push(now);
      this.started.set(id, recent);
    }
    if (maxParallel === undefined) return undefined;
    const running = this.running.get(id) ?? 0;
    if (running >= maxParallel) throw new RateLimitedError(`Too many requests at once: this key may have ${maxParallel} request(s) in flight.`, 1);
    this.running.set(id, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(id) ?? 1) - 1;
      if (left > 0) this.running.set(id, left);
      else this.running.delete(id);
    };
  }
}
