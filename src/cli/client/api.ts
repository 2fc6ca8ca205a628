/** The parts of Ollama's wire format the CLI reads; the server may send more. */

export interface ModelDetails {
  parameter_size?: string;
  quantization_level?: string;
}

export interface ListedModel {
  name: string;
  digest: string;
  size: number;
  modified_at: string;
}

export interface RunningModel {
  name: string;
  digest: string;
  size: number;
  size_vram: number;
  expires_at: string;
  context_length?: number;
}

export interface ShowResponse {
  license?: string;
  modelfile?: string;
  parameters?: string;
  template?: string;
  system?: string;
  details?: ModelDetails;
  model_info?: Record<string, unknown>;
  capabilities?: string[];
  messages?: Message[];
}

export interface ToolCall {
  function: { name: string; arguments: unknown };
}

export interface Message {
  role: string;
  content: string;
  thinking?: string;
  tool_calls?: ToolCall[];
}

export interface ChatChunk {
  message?: Message;
  done?: boolean;
}

/** One line of the NDJSON that /api/pull, /api/push and /api/create stream. */
export interface ProgressResponse {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

/** A failure the CLI reports as `Error: <message>`, without a stack. */
export class ClientError extends Error {}

/** The server answered with an error status or an `{"error": …}` line. */
export class ServerError extends ClientError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

/** Ollama's message when a body names no error: the status line. */
async function errorFrom(response: Response): Promise<ServerError> {
  const text = await response.text();
  let message = text.trim();
  try {
    const body = JSON.parse(text) as { error?: unknown };
    message = typeof body.error === "string" ? body.error : "";
  } catch {
    // not JSON: the body itself is the message, as Ollama's client reports it
  }
  return new ServerError(response.status, message || `${response.status} ${response.statusText}`.trim());
}

/** A client of the Ollama API that `hearth serve` speaks. */
export class HearthClient {
  /** `apiKey`: sent as a bearer token, for a server with authentication on (HEARTH_API_KEY, as Ollama's client reads OLLAMA_API_KEY) */
  constructor(
    readonly base: string,
    private readonly apiKey?: string,
  ) {}

  private async send(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.apiKey) headers.set("authorization", `Bearer ${this.apiKey}`);
    try {
      return await fetch(this.base + path, { method, ...init, headers });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ClientError(`could not connect to hearth server at ${this.base}; is it running? start it with \`hearth serve\``);
    }
  }

  /** A JSON request; the parsed answer, or undefined for an empty body. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const response = await this.send(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    if (!response.ok) throw await errorFrom(response);
    const text = await response.text();
    return text.trim() === "" ? undefined : (JSON.parse(text) as T);
  }

  /** Streams an NDJSON answer to onLine; an `{"error": …}` line ends it with a ServerError. */
  async stream<T>(path: string, body: unknown, onLine: (line: T) => void, signal?: AbortSignal): Promise<void> {
    const response = await this.send("POST", path, {
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      signal,
    });
    if (!response.ok) throw await errorFrom(response);
    if (!response.body) return;
    const decoder = new TextDecoder();
    let pending = "";
    const handle = (line: string) => {
      if (line.trim() === "") return;
      let parsed: T & { error?: unknown };
      try {
        parsed = JSON.parse(line);
      } catch {
        // Ollama's client reports a line that is not JSON as the error itself.
        throw new ServerError(response.status, line);
      }
      if (typeof parsed.error === "string") throw new ServerError(response.status, parsed.error);
      onLine(parsed);
    };
    const reader = response.body.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (isAbort(err)) throw err;
          throw new ClientError(`lost the connection to hearth server at ${this.base}: ${(err as Error).message}`);
        }
        if (chunk.done) break;
        pending += decoder.decode(chunk.value, { stream: true });
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          handle(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
      }
    } catch (err) {
      // Whoever stops reading closes the connection, so the server stops generating too.
      reader.cancel().catch(() => {});
      throw err;
    }
    handle(pending + decoder.decode());
  }

  /** Whether the server already holds the blob (HEAD /api/blobs/:digest). */
  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.send("HEAD", `/api/blobs/${digest}`);
    if (response.status === 404) return false;
    if (!response.ok) throw await errorFrom(response);
    return true;
  }

  /** Uploads a blob (POST /api/blobs/:digest); the server checks the digest. */
  async uploadBlob(digest: string, body: ReadableStream<Uint8Array>, size: number): Promise<void> {
    const response = await this.send("POST", `/api/blobs/${digest}`, {
      body,
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      // A streamed request body, sent as it is read rather than gathered in memory first.
      duplex: "half",
    } as RequestInit);
    if (!response.ok) throw await errorFrom(response);
  }
}
