/**
 * The "CDN" that blob GETs redirect to, on host name `localhost` so that a client treats it as a
 * different host from the registry (127.0.0.1) and must not send it the registry's credentials.
 *
 * A raw HTTP/1.1 server on node:net rather than Bun.serve, because faults must be exact:
 * Bun.serve drops a handler's Content-Length on streamed bodies (oven-sh/bun#10507) and, when a
 * body stream errors, resets the connection discarding bytes it had not yet written, so a "cut
 * after N bytes" would deliver an unknown number. Here the response announces the full
 * Content-Length, writes N bytes and ends the socket (FIN, after the bytes are flushed): the
 * client sees exactly N bytes, then a premature end. One request per connection
 * (`Connection: close`) keeps the parser trivial.
 */
import { createServer, type Server, type Socket } from "node:net";
import { blobChunks, contentRange, parseRange } from "./blob-body.ts";
import { takeFaultPlan, takeStatusOverride } from "./faults.ts";
import { untilAborted, type RegistryState } from "./state.ts";

/** See the cut in respond(). */
const CUT_SETTLE_MS = 20;

const REASONS: Record<number, string> = {
  200: "OK",
  206: "Partial Content",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  416: "Range Not Satisfiable",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An S3-style presigned URL for the blob; the CDN answers 403 if the signature was dropped or altered. */
export function signedBlobUrl(state: RegistryState, digest: string): string {
  const hex = digest.slice("sha256:".length);
  const date = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
  const query = new URLSearchParams({
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `fake/${date.slice(0, 8)}/auto/s3/aws4_request`,
    "X-Amz-Date": date,
    "X-Amz-Expires": "1200",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": signature(state, digest, date),
  });
  return `${state.cdnUrl}/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data?${query}`;
}

function signature(state: RegistryState, digest: string, date: string): string {
  return new Bun.CryptoHasher("sha256", state.signingKey).update(`${digest}\n${date}`).digest("hex");
}

export interface Cdn {
  url: string;
  stop(): Promise<void>;
}

export async function startCdn(state: RegistryState): Promise<Cdn> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // clients aborting (stall tests) reset the connection
    let head = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 65536) socket.destroy();
        return;
      }
      socket.off("data", onData);
      respond(state, socket, parseHead(head.subarray(0, end).toString("latin1"))).catch(() => socket.destroy());
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "localhost", resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://localhost:${port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RawRequest {
  method: string;
  target: string;
  headers: Map<string, string>;
}

function parseHead(text: string): RawRequest {
  const [requestLine = "", ...lines] = text.split("\r\n");
  const [method = "", target = "/"] = requestLine.split(" ");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { method: method.toUpperCase(), target, headers };
}

async function respond(state: RegistryState, socket: Socket, req: RawRequest): Promise<void> {
  const url = new URL(req.target, state.cdnUrl);
  state.stats.requests.push({
    server: "cdn",
    method: req.method,
    path: url.pathname + url.search,
    range: req.headers.get("range") ?? null,
    contentRange: req.headers.get("content-range") ?? null,
    authorization: req.headers.get("authorization") ?? null,
    host: req.headers.get("host") ?? null,
  });
  const simple = (status: number, body = "", headers: Record<string, string> = {}) => {
    socket.end(responseHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers }) + (req.method === "HEAD" ? "" : body));
  };

  const override = takeStatusOverride(state.faults, req.method, url.pathname);
  if (override) return simple(override.status, override.body ?? "", override.headers);
  if (req.method !== "GET" && req.method !== "HEAD") return simple(405, s3Error("MethodNotAllowed"));

  const match = /\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(url.pathname);
  const digest = match ? `sha256:${match[1]}` : "";
  const date = url.searchParams.get("X-Amz-Date") ?? "";
  if (!match || url.searchParams.get("X-Amz-Signature") !== signature(state, digest, date)) {
    return simple(403, s3Error("SignatureDoesNotMatch"), { "Content-Type": "application/xml" });
  }
  const blob = state.store.get(digest);
  if (!blob) return simple(404, s3Error("NoSuchKey"), { "Content-Type": "application/xml" });

  const range = parseRange(req.headers.get("range") ?? null, blob.size);
  if (!range) return simple(416, "", { "Content-Range": `bytes */${blob.size}` });
  const head = responseHead(range.partial ? 206 : 200, {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(range.end - range.start + 1),
    "Accept-Ranges": "bytes",
    ETag: `"${digest.slice(7, 39)}"`,
    ...(range.partial ? { "Content-Range": contentRange(range, blob.size) } : {}),
  });
  if (req.method === "HEAD") return void socket.end(head);

  const plan = takeFaultPlan(state.faults, state.stats, digest, range.start, range.end);
  socket.write(head);
  for await (const chunk of blobChunks(blob.path, range, plan)) {
    if (socket.destroyed) return; // the client went away; leaving the loop closes the file
    state.stats.addServed(digest, chunk.length);
    await write(socket, chunk);
  }
  if (plan.onStop === "stall") {
    // Keep the connection open, sending nothing, until the client gives up (or the registry stops).
    const closed = new AbortController();
    if (socket.destroyed) closed.abort();
    else socket.once("close", () => closed.abort());
    await untilAborted(closed.signal, state.stopping);
    socket.destroy();
    return;
  }
  if (plan.onStop === "cut") {
    // Bun's fetch drops the bytes that arrive in the same read as a premature FIN; a moment
    // between them makes the client really see the N bytes before the error.
    await new Promise<void>((resolve) => socket.write(new Uint8Array(0), () => resolve()));
    await Bun.sleep(CUT_SETTLE_MS);
  }
  // After a cut this FIN comes before the announced Content-Length: a premature end for the client.
  socket.end();
}

/** Writes with backpressure, so a slow client holds at most a chunk or so in memory. */
function write(socket: Socket, chunk: Uint8Array): Promise<void> | void {
  if (socket.write(chunk)) return;
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

function responseHead(status: number, headers: Record<string, string>): string {
  const lines = Object.entries({ ...headers, Connection: "close" }).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n${lines.join("")}\r\n`;
}

function s3Error(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code></Error>`;
}
