import { ContentEncodingError, decodeContent } from "./content-encoding.ts";

/** A request body that cannot be read as JSON; each API words it in its own error shape. */
export class BodyParseError extends Error {}

// fatal: a body that is not UTF-8 is refused instead of having its bad bytes silently replaced by U+FFFD.
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a request body as JSON whatever its content type: Ollama's docs and plain `curl -d` send
 * JSON as form-urlencoded or with no content type at all, and OpenAI clients are not all careful
 * either. JSON is UTF-8 (RFC 8259), so a charset parameter is not honoured, only named when the
 * body fails.
 */
export async function readJsonBody(request: Request, maxBytes = Infinity): Promise<Record<string, unknown>> {
  const bytes = await decodedBytes(request, maxBytes);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new BodyParseError(`The request body is not valid UTF-8, which JSON always is${charsetNote(request)}.`);
  }
  if (text.trim() === "") throw new BodyParseError("The request body is empty; it must be a JSON object.");
  const deep = tooDeep(text);
  if (deep !== undefined) {
    throw new BodyParseError(`The request body is nested too deeply: ${deep} holds more than ${MAX_NESTING} levels of arrays and objects.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BodyParseError(`The request body is not valid JSON (${(err as Error).message})${charsetNote(request)}.`);
  }
  // Checked here because the schemas cannot be trusted with it: Elysia merges a schema's defaults
  // into the body with Object.assign, which turns `[]` or `5` into `{}`.
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BodyParseError(`The request body must be a JSON object, not ${kindOf(value)}.`);
  }
  return value as Record<string, unknown>;
}

/** The body's bytes, its Content-Encoding (Codex CLI sends zstd) undone; at most maxBytes once decoded. */
async function decodedBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  try {
    return await decodeContent(bytes, request.headers.get("content-encoding"), maxBytes);
  } catch (err) {
    throw err instanceof ContentEncodingError ? new BodyParseError(err.message) : err;
  }
}

/**
 * Levels of arrays and objects a body may nest, the body itself the first. JSON.parse takes any
 * depth, but what comes after it need not: anything that walks a value recursively (validation
 * errors, schema compilers, cloning) overflows the stack on 10,000 levels, and even 100 is far
 * past any real request (OpenAI allows a structured-output schema 10 levels of nesting).
 */
export const MAX_NESTING = 100;

/**
 * Where the JSON text first nests deeper than MAX_NESTING, named as a field ("'messages[0].content'"),
 * or undefined. Scans the text, before it is parsed, so that a body of millions of `[` costs
 * nothing but the scan; malformed text is left for JSON.parse to refuse.
 */
export function tooDeep(text: string): string | undefined {
  // The open arrays and objects: each array's current index, each object's current key (its text's span).
  const open: Array<{ index: number } | { key?: [number, number] }> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      const top = open.at(-1);
      if (expectKey && top && "key" in top) top.key = [i, end + 1];
      expectKey = false;
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (open.length === MAX_NESTING) return nestingPath(text, open);
      open.push(c === 0x5b ? { index: 0 } : { key: undefined });
      expectKey = c === 0x7b;
    } else if (c === 0x5d || c === 0x7d) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = open.at(-1);
      if (top && "index" in top) top.index++;
      else expectKey = true;
    }
  }
  return undefined;
}

/** The index of the quote closing the string that opens at `start` (text.length when it never closes). */
function stringEnd(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

/** The field holding the too-deep value, in OpenAI's dotted form, its first levels only and long keys cut. */
function nestingPath(text: string, open: Array<{ index: number } | { key?: [number, number] }>): string {
  const SHOWN = 6;
  let path = "";
  for (const frame of open.slice(0, SHOWN)) {
    if ("index" in frame) {
      path += `[${frame.index}]`;
      continue;
    }
    let key = "?";
    if (frame.key) {
      const [from, to] = frame.key;
      try {
        key = JSON.parse(text.slice(from, Math.min(to, from + 200)));
      } catch {
        key = text.slice(from + 1, Math.min(to - 1, from + 41));
      }
      if (key.length > 40) key = `${key.slice(0, 40)}…`;
    }
    path += path ? `.${key}` : key;
  }
  if (open.length > SHOWN) path += "…";
  return path ? `'${path}'` : "the body";
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function charsetNote(request: Request): string {
  const charset = request.headers.get("content-type")?.match(/;\s*charset="?([^";\s]+)/i)?.[1];
  return charset && !/^utf-?8$/i.test(charset) ? `; it is read as UTF-8, not as the content type's charset=${charset}` : "";
}

/** The message of a body that failed to parse, when it was readJsonBody's doing. */
export function bodyParseMessage(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof BodyParseError ? cause.message : undefined;
}
