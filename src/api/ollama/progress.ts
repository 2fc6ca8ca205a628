import { t } from "elysia";
import { Channel } from "../../engine/channel.ts";
import { classifyError } from "../errors.ts";
import { ndjsonLine, NDJSON_HEADERS, streamResponse } from "../stream.ts";
import { renderOllamaError, toOllamaErrorResponse } from "./errors.ts";

/** Ollama's ProgressResponse: a status line, with a digest's byte counts while one is transferred. */
export interface Progress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export type Emit = (progress: Progress) => void;

/**
 * Runs a pull, push or create and answers with its progress the way Ollama does: NDJSON lines
 * (Go's omitempty: zero counts and empty digests left out), or with `stream: false` only the last
 * one. An error before the first line is a status code with {"error"}; after it, a final
 * {"error"} line. The client going away aborts `signal`, which the operation watches.
 */
export async function progressResponse(stream: boolean, clientSignal: AbortSignal, run: (emit: Emit, signal: AbortSignal) => Promise<void>): Promise<Response> {
  const abort = new AbortController();
  const onClientGone = () => abort.abort(clientSignal.reason);
  clientSignal.addEventListener("abort", onClientGone, { once: true });
  const lines = new Channel<Progress>();
  const done = run((p) => lines.push(p), abort.signal).then(
    () => lines.close(),
    (err) => lines.fail(err),
  );
  void done.finally(() => clientSignal.removeEventListener("abort", onClientGone));
  const iterator = lines[Symbol.asyncIterator]();

  if (!stream) {
    let last: Progress | undefined;
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) last = next.value;
    } catch (err) {
      return toOllamaErrorResponse("PROGRESS", err);
    }
    return Response.json(wire(last ?? { status: "success" }));
  }

  let first: IteratorResult<Progress>;
  try {
    first = await iterator.next();
  } catch (err) {
    return toOllamaErrorResponse("PROGRESS", err);
  }
  return streamResponse(
    startingWith(first, iterator),
    {
      headers: NDJSON_HEADERS,
      value: (progress) => ndjsonLine(wire(progress)),
      // Stopped because the client went away: there is nobody to tell, and nothing went wrong.
      error: (err) => (abort.signal.aborted ? undefined : ndjsonLine(renderOllamaError(classifyError("PROGRESS", err)))),
    },
    () => abort.abort(new Error("the client went away")),
  );
}

/** The values of `rest`, after the one already read from it. */
async function* startingWith<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  for (let next = first; !next.done; next = await rest.next()) yield next.value;
}

/** Go's omitempty on ProgressResponse's digest, total and completed. */
function wire(p: Progress): Progress {
  return {
    status: p.status,
    ...(p.digest ? { digest: p.digest } : {}),
    ...(p.total ? { total: p.total } : {}),
    ...(p.completed ? { completed: p.completed } : {}),
  };
}

/** The request fields a pull and a push share beside `model`. */
export const TransferFields = {
  name: t.Optional(t.String({ description: "Deprecated spelling of model (the ollama JavaScript client still sends it)" })),
  insecure: t.Optional(t.Nullable(t.Boolean({ description: "Allow plain http: a private registry on the home network" }))),
  stream: t.Optional(t.Nullable(t.Boolean({ description: "Default true: NDJSON progress lines; false: only the last one" }))),
};

/** The schema of one progress line, with the statuses of the operation and what its byte counts count. */
export function progressLine(statuses: string, moving: string) {
  return t.Object(
    {
      status: t.String({ description: statuses }),
      digest: t.Optional(t.String({ description: `The blob being ${moving} (sha256:…)` })),
      total: t.Optional(t.Integer({ description: "Its size in bytes" })),
      completed: t.Optional(t.Integer({ description: `Bytes of it ${moving} so far; left out while 0` })),
    },
    { description: "One NDJSON line of progress (Go's omitempty: zero counts are left out)" },
  );
}
