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
export async function readJsonBody(request: Request): Promise<Record<string, unknown>> {
  const bytes = await request.arrayBuffer();
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new BodyParseError(`The request body is not valid UTF-8, which JSON always is${charsetNote(request)}.`);
  }
  if (text.trim() === "") throw new BodyParseError("The request body is empty; it must be a JSON object.");
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
