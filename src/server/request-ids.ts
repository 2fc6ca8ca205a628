import { requestIdOf } from "../observability/request-id.ts";

/** Error bodies are small; anything larger is no error body of Hearth's and is passed on untouched. */
const MAX_ERROR_BODY = 1 << 20;

/**
 * Every response carries the request's id as X-Request-Id, and every JSON error body carries it as
 * `request_id`, whichever layer answered (a route, the authentication gate, the body limit, a
 * shutdown). OpenAI-shaped bodies also gain the seed's top-level `code` and `message` beside the
 * `error` object, which OpenAI's SDKs go on reading.
 */
export function stampRequestIds(handle: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
  return async (request) => {
    const id = requestIdOf(request);
    const response = await handle(request);
    const stamped = response.status >= 400 && isJson(response) ? await withIdInBody(response, id) : response;
    return withHeader(stamped, "x-request-id", id);
  };
}

function isJson(response: Response): boolean {
  const length = Number(response.headers.get("content-length") ?? 0);
  return /^application\/json/.test(response.headers.get("content-type") ?? "") && response.body !== null && length <= MAX_ERROR_BODY;
}

async function withIdInBody(response: Response, id: string): Promise<Response> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, response);
  }
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(stamp(body, id)), { status: response.status, statusText: response.statusText, headers });
}

function stamp(body: unknown, id: string): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("error" in body)) return body;
  const error = (body as { error: unknown }).error;
  // Ollama's {"error": "message"}
  if (typeof error === "string") return { ...body, request_id: id };
  if (typeof error !== "object" || error === null) return body;
  // Anthropic's {"type": "error", "error": {...}, "request_id": ...}
  if ((body as { type?: unknown }).type === "error") return { ...body, request_id: id };
  const { message, code, type } = error as { message?: unknown; code?: unknown; type?: unknown };
  return { error, code: code ?? type ?? null, message: message ?? null, request_id: id };
}

/** The response with one header set; a response whose headers are immutable (fetched from elsewhere) is copied first. */
export function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}
