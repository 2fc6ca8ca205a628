import { expect } from "bun:test";

/** One SSE event as sent: its `event:` name (null when the line is missing) and its parsed data. */
export interface SseEvent {
  event: string | null;
  data: Record<string, unknown> & { type: string };
}

/** Splits an SSE body into events, each with its `event:` line and its JSON data. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((chunk) => chunk.trim() !== "")
    .map((chunk) => {
      const lines = chunk.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length) ?? null;
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice("data: ".length)).join("\n");
      return { event, data: JSON.parse(data) };
    });
}

export async function postMessages(url: string, body: object, init: { path?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${url}${init.path ?? "/v1/messages"}`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "unused", ...init.headers },
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

const USAGE_KEYS = ["cache_creation_input_tokens", "cache_read_input_tokens", "input_tokens", "output_tokens"];

/** The usage object, field by field (messages.md §7): the four counters, integers. */
export function expectUsage(usage: unknown): void {
  expect(Object.keys(usage as object).sort()).toEqual(USAGE_KEYS);
  for (const key of USAGE_KEYS) expect(Number.isInteger((usage as Record<string, unknown>)[key])).toBe(true);
}

/** A Message (messages.md §6), field by field. */
export function expectMessageShape(message: Record<string, unknown>): void {
  expect(Object.keys(message).sort()).toEqual(["content", "id", "model", "role", "stop_reason", "stop_sequence", "type", "usage"]);
  expect(message.id).toMatch(/^msg_[A-Za-z0-9]+$/);
  expect(message.type).toBe("message");
  expect(message.role).toBe("assistant");
  expect(["end_turn", "max_tokens", "stop_sequence", "tool_use"]).toContain(message.stop_reason as string);
  expect(message.stop_sequence === null || typeof message.stop_sequence === "string").toBe(true);
  expectUsage(message.usage);
  for (const block of message.content as Array<Record<string, unknown>>) {
    switch (block.type) {
      case "text":
        expect(Object.keys(block).sort()).toEqual(["citations", "text", "type"]);
        expect(typeof block.text).toBe("string");
        expect(block.citations).toBeNull();
        break;
      case "thinking":
        expect(Object.keys(block).sort()).toEqual(["signature", "thinking", "type"]);
        expect(typeof block.thinking).toBe("string");
        expect(block.signature).toMatch(/^\S+$/);
        break;
      case "tool_use":
        expect(Object.keys(block).sort()).toEqual(["id", "input", "name", "type"]);
        expect(block.id).toMatch(/^toolu_\w+$/);
        expect(typeof block.input).toBe("object");
        expect(Array.isArray(block.input)).toBe(false);
        break;
      default:
        throw new Error(`unexpected block type ${String(block.type)}`);
    }
  }
}

/**
 * Checks a whole stream against streaming.md §2/§3: every event named and named as its type,
 * message_start first (usage present, content empty, stop_reason null), blocks one at a time in
 * index order (start, deltas of the block's kind, stop; a thinking block's signature last),
 * message_delta with stop_reason and usage, message_stop last; pings anywhere. Returns the
 * events without pings.
 */
export function expectStreamOrder(events: SseEvent[]): SseEvent[] {
  for (const e of events) expect(e.event).toBe(e.data.type);
  const body = events.filter((e) => e.event !== "ping");
  expect(body[0]!.event).toBe("message_start");
  const start = body[0]!.data.message as Record<string, unknown>;
  expect(start.content).toEqual([]);
  expect(start.stop_reason).toBeNull();
  expect(start.stop_sequence).toBeNull();
  expectUsage(start.usage);
  expect(body.at(-1)!.event).toBe("message_stop");
  expect(body.at(-2)!.event).toBe("message_delta");
  const delta = body.at(-2)!.data as unknown as { delta: Record<string, unknown>; usage: unknown };
  expect(Object.keys(delta.delta).sort()).toEqual(["stop_reason", "stop_sequence"]);
  expectUsage(delta.usage);
  let index = -1;
  let open: string | undefined;
  let signed = false;
  for (const { data } of body.slice(1, -2)) {
    switch (data.type) {
      case "content_block_start": {
        expect(open).toBeUndefined();
        expect(data.index).toBe(++index);
        const block = data.content_block as Record<string, unknown>;
        open = block.type as string;
        if (open === "thinking") expect(block).toEqual({ type: "thinking", thinking: "", signature: "" });
        if (open === "text") expect(block).toEqual({ type: "text", text: "" });
        if (open === "tool_use") expect(block).toEqual({ type: "tool_use", id: expect.stringMatching(/^toolu_/), name: expect.any(String), input: {} });
        signed = false;
        break;
      }
      case "content_block_delta": {
        expect(data.index).toBe(index);
        const kind = (data.delta as { type: string }).type;
        const allowed = { text: ["text_delta"], thinking: ["thinking_delta", "signature_delta"], tool_use: ["input_json_delta"] }[open!];
        expect(allowed).toContain(kind);
        expect(signed).toBe(false);
        if (kind === "signature_delta") signed = true;
        break;
      }
      case "content_block_stop":
        expect(data.index).toBe(index);
        if (open === "thinking") expect(signed).toBe(true);
        open = undefined;
        break;
      default:
        throw new Error(`unexpected event ${data.type} between message_start and message_delta`);
    }
  }
  expect(open).toBeUndefined();
  return body;
}
