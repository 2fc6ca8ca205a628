import { randomBytes } from "node:crypto";

const ids = new WeakMap<Request, string>();

/** An inbound X-Request-Id kept as it is: short, and nothing a log line or a header could be confused by. */
const SAFE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * The request's id, the same each time it is asked for: the client's own X-Request-Id when it
 * sent a safe one (a proxy's, so its logs and Hearth's meet), else a new `req_…`. Sent back as
 * X-Request-Id (and Anthropic's `request-id`), in every error body and in the request's log line.
 */
export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    const inbound = request.headers.get("x-request-id");
    id = inbound !== null && SAFE_ID.test(inbound) ? inbound : `req_${randomId(24)}`;
    ids.set(request, id);
  }
  return id;
}

/** The same id for a copy of a request (one given a signal of its own), so that every layer names it alike. */
export function carryRequestId(from: Request, to: Request): Request {
  ids.set(to, requestIdOf(from));
  return to;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` characters from [A-Za-z0-9], for ids of objects and requests. */
export function randomId(length: number): string {
  return Array.from(randomBytes(length), (b) => ALPHABET[b % ALPHABET.length]).join("");
}
