import { carryRequestId, requestIdOf } from "../observability/request-id.ts";

const MESSAGE = "The server is shutting down; the request was stopped before it finished.";

/** Which API a request speaks, by its path: each answers a shutdown in its own error shape. */
type Dialect = "openai" | "ollama" | "anthropic" | "responses";

function dialectOf(request: Request): Dialect {
  const path = new URL(request.url).pathname;
  if (path.startsWith("/api/")) return "ollama";
  if (path === "/v1/responses") return "responses";
  return path === "/v1/messages" || path.startsWith("/v1/messages/") ? "anthropic" : "openai";
}
const SSE = /^text\/event-stream/;
const NDJSON = /^application\/x-ndjson/;

/** A request being answered: `cut` ends it at once with an error in its API's shape. */
interface Answer {
  cut(): void;
}

/**
 * The requests being answered, so that a shutdown can wait for them and, once its time is up,
 * end the rest with an error in their API's shape rather than a dropped connection: a 503 for an
 * answer not begun yet, a final error event (OpenAI's SSE) or line (Ollama's NDJSON) for a stream
 * under way, as when generation fails mid-stream.
 */
export class InFlight {
  private answers = new Set<Answer>();

  get size(): number {
    return this.answers.size;
  }

  /**
   * The handler sees each request with a signal of its own, which follows the client's and is
   * also aborted by a cut: that is how the engine hears to stop generating.
   */
  wrap(handle: (request: Request) => Response | Promise<Response>): (request: Request) => Promise<Response> {
    return async (request) => {
      const dialect = dialectOf(request);
      const requestId = requestIdOf(request);
      const abort = new AbortController();
      const clientGone = () => abort.abort();
      request.signal.addEventListener("abort", clientGone, { once: true });
      if (request.signal.aborted) abort.abort();
      let cutBeforeAnswer!: () => void;
      const cut = new Promise<undefined>((resolve) => (cutBeforeAnswer = () => resolve(undefined)));
      const pending: Answer = {
        cut: () => {
          abort.abort();
          cutBeforeAnswer();
        },
      };
      this.answers.add(pending);
      const answer = (async () => handle(carryRequestId(request, new Request(request, { signal: abort.signal }))))();
      let response: Response | undefined;
      try {
        response = await Promise.race([answer, cut]);
      } finally {
        this.answers.delete(pending);
      }
      if (!response) return shutdownResponse(dialect, requestId);
      const content = response.headers.get("content-type") ?? "";
      const last = SSE.test(content) ? sseErrorFrame(dialect, requestId) : NDJSON.test(content) ? fixedFrame(`${JSON.stringify(errorBody(dialect, requestId))}\n`) : undefined;
      if (!response.body || last === undefined) return response;
      return new Response(this.cuttable(response.body, last, abort), response);
    };
  }

  /** Ends every request still in flight; returns how many there were. */
  cutAll(): number {
    const cut = [...this.answers];
    for (const answer of cut) answer.cut();
    return cut.length;
  }

  /**
   * The stream's own chunks (whole events or lines) until it ends, or until cut: then `last` and
   * the end, while the generation, aborted, winds down and what it still writes is dropped.
   */
  private cuttable(body: ReadableStream<Uint8Array>, last: LastFrame, abort: AbortController): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    let ended = false;
    let answer!: Answer;
    const end = () => {
      ended = true;
      this.answers.delete(answer);
    };
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        answer = {
          cut: () => {
            if (ended) return;
            end();
            controller.enqueue(last.frame());
            controller.close();
            abort.abort();
            void drain(reader);
          },
        };
        this.answers.add(answer);
      },
      pull: async (controller) => {
        if (ended) return;
        try {
          const { value, done } = await reader.read();
          if (ended) return;
          if (done) {
            end();
            controller.close();
          } else {
            last.seen(value);
            controller.enqueue(value);
          }
        } catch (err) {
          if (ended) return;
          end();
          controller.error(err);
        }
      },
      cancel: async (reason) => {
        end();
        await reader.cancel(reason);
      },
    });
  }

}

/** Reads to the end, dropping what comes. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // A stream failing after the cut has nobody left to tell.
  }
}

function shutdownResponse(dialect: Dialect, requestId: string): Response {
  return Response.json(errorBody(dialect, requestId), { status: 503, headers: { connection: "close" } });
}

/** The frame that ends a cut stream, told each chunk sent before it. */
interface LastFrame {
  seen(chunk: Uint8Array): void;
  frame(): Uint8Array;
}

function fixedFrame(text: string): LastFrame {
  const bytes = new TextEncoder().encode(text);
  return { seen: () => {}, frame: () => bytes };
}

/**
 * A Responses stream ends with its `error` event, which carries the next sequence_number: the
 * events' numbers are read as they pass (each chunk is whole events, and only an event's own
 * top-level "sequence_number" key appears unescaped in its JSON).
 */
function sseErrorFrame(dialect: Dialect, requestId: string): LastFrame {
  if (dialect !== "responses") return fixedFrame(sseError(dialect, requestId));
  const decoder = new TextDecoder();
  let next = 0;
  return {
    seen(chunk) {
      for (const match of decoder.decode(chunk).matchAll(/"sequence_number":(\d+)/g)) next = Math.max(next, Number(match[1]) + 1);
    },
    frame() {
      const event = { type: "error", code: "server_shutting_down", message: MESSAGE, param: null, sequence_number: next };
      return new TextEncoder().encode(`event: error\ndata: ${JSON.stringify(event)}\n\n`);
    },
  };
}

/** A stream's last event: Anthropic's are named (`event: error`), OpenAI's are data alone. */
function sseError(dialect: Dialect, requestId: string): string {
  const data = `data: ${JSON.stringify(errorBody(dialect, requestId))}\n\n`;
  return dialect === "anthropic" ? `event: error\n${data}` : data;
}

/** Each API's error shape, as its routes answer errors, with the request's id. */
function errorBody(dialect: Dialect, requestId: string): unknown {
  switch (dialect) {
    case "ollama":
      return { error: MESSAGE, request_id: requestId };
    case "anthropic":
      return { type: "error", error: { type: "api_error", message: MESSAGE }, request_id: requestId };
    case "openai":
    case "responses":
      return { error: { message: MESSAGE, type: "server_error", param: null, code: "server_shutting_down" } };
  }
}
