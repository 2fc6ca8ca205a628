/** Fault switches (mutable at runtime by tests) and the counters the servers keep. */

export interface StatusOverride {
  /** Matched against the URL path (string: substring) of requests to either server. */
  path: string | RegExp;
  /** Only this method (any when absent). */
  method?: string;
  status: number;
  /** How many requests get it, then it stops matching (default: every one). */
  times?: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface Faults {
  /** Limit the blob faults (cut, stall, flip) to this digest; all blobs when absent. */
  digest?: string;
  /** Blob responses end the connection after this many body bytes (the client sees a premature end). */
  cutAfterBytes?: number;
  /** How many responses get cut, then they are served whole. */
  cutTimes: number;
  /** Blob responses send this many body bytes, then nothing more until the client gives up. */
  stallAfterBytes?: number;
  stallTimes: number;
  /** Absolute offset in the blob of a byte served inverted (the client's sha256 then mismatches). */
  flipByte?: number;
  flipTimes: number;
  /** Manifests answered 404 although present: `"library/tiny:v1"`, or a bare tag for any model. */
  missingTags: string[];
  /** Canned answers for matching requests, checked before anything else (auth included). */
  status: StatusOverride[];
}

export function defaultFaults(): Faults {
  return { cutTimes: Infinity, stallTimes: Infinity, flipTimes: Infinity, missingTags: [], status: [] };
}

/** What one blob response must do; taking a plan uses up one of the matching fault's `times`. */
export interface FaultPlan {
  /** Body bytes to send before the fault (`undefined`: the whole body). */
  stopAfter?: number;
  onStop?: "cut" | "stall";
  /** Absolute blob offset to invert. */
  flipAt?: number;
}

/** Plans the faults for a response carrying bytes `start..end` (inclusive) of blob `digest`. */
export function takeFaultPlan(faults: Faults, stats: Stats, digest: string, start: number, end: number): FaultPlan {
  if (faults.digest !== undefined && faults.digest !== digest) return {};
  const plan: FaultPlan = {};
  const length = end - start + 1;
  const cut = faults.cutAfterBytes !== undefined && faults.cutTimes > 0 && faults.cutAfterBytes < length;
  const stall = faults.stallAfterBytes !== undefined && faults.stallTimes > 0 && faults.stallAfterBytes < length;
  // Both armed: the one that triggers first wins; only it is used up.
  if (cut && (!stall || faults.cutAfterBytes! <= faults.stallAfterBytes!)) {
    faults.cutTimes--;
    stats.cuts++;
    Object.assign(plan, { stopAfter: faults.cutAfterBytes, onStop: "cut" });
  } else if (stall) {
    faults.stallTimes--;
    stats.stalls++;
    Object.assign(plan, { stopAfter: faults.stallAfterBytes, onStop: "stall" });
  }
  const flip = faults.flipByte;
  if (flip !== undefined && faults.flipTimes > 0 && flip >= start && flip <= end) {
    faults.flipTimes--;
    stats.flips++;
    plan.flipAt = flip;
  }
  return plan;
}

export function takeStatusOverride(faults: Faults, method: string, path: string): StatusOverride | undefined {
  const match = faults.status.find(
    (o) =>
      (o.times ?? Infinity) > 0 &&
      (o.method === undefined || o.method.toUpperCase() === method) &&
      (typeof o.path === "string" ? path.includes(o.path) : o.path.test(path)),
  );
  if (match && match.times !== undefined) match.times--;
  return match;
}

export function isMissingTag(faults: Faults, name: string, tag: string): boolean {
  const full = `${name}:${tag}`.toLowerCase();
  return faults.missingTags.some((t) => {
    const want = t.toLowerCase();
    return want.includes(":") ? want === full : want === tag.toLowerCase();
  });
}

export interface RecordedRequest {
  server: "registry" | "cdn";
  method: string;
  /** Path and query string. */
  path: string;
  range: string | null;
  contentRange: string | null;
  authorization: string | null;
  host: string | null;
}

export class Stats {
  requests: RecordedRequest[] = [];
  /** Body bytes handed to the socket, per blob digest. */
  bytesServed = new Map<string, number>();
  /** Upload body bytes stored (PATCH, PUT and monolithic POST). */
  bytesReceived = 0;
  cuts = 0;
  stalls = 0;
  flips = 0;

  /** Bytes of `digest` served so far (0 when none). */
  served(digest: string): number {
    return this.bytesServed.get(digest) ?? 0;
  }

  addServed(digest: string, bytes: number): void {
    this.bytesServed.set(digest, this.served(digest) + bytes);
  }

  /** Whether a credential reached the CDN: a client must not forward it to another host. */
  get cdnSawAuthorization(): boolean {
    return this.requests.some((r) => r.server === "cdn" && r.authorization !== null);
  }

  reset(): void {
    this.requests = [];
    this.bytesServed.clear();
    this.bytesReceived = 0;
    this.cuts = this.stalls = this.flips = 0;
  }
}
