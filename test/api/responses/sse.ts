import { expect } from "bun:test";
import { expectValid, expectValidEvent } from "../../support/openai-schemas.ts";

export interface StreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: any;
}

/**
 * A Responses stream as sent: every event named (`event:` equal to its data's type), valid against
 * OpenAI's schema for its type, numbered from 0 in strictly increasing order; the responses the
 * lifecycle events carry are valid Response objects too.
 */
export function parseResponseStream(text: string): StreamEvent[] {
  const frames = text.split("\n\n").filter((frame) => frame.trim() !== "");
  const events = frames.map((frame) => {
    const name = frame.match(/^event: (.+)$/m)?.[1];
    const data = frame.match(/^data: (.+)$/m)?.[1];
    expect({ frame, named: name !== undefined, data: data !== undefined }).toEqual({ frame, named: true, data: true });
    const event = JSON.parse(data!) as StreamEvent;
    expect(event.type).toBe(name!);
    return event;
  });
  expectValidStream(events);
  return events;
}

export function expectValidStream(events: StreamEvent[]): void {
  events.forEach((event, i) => {
    expectValidEvent(event);
    if (event.response) expectValid("Response", event.response);
    if (i > 0) expect(event.sequence_number).toBeGreaterThan(events[i - 1]!.sequence_number);
  });
  expect(events[0]?.sequence_number).toBe(0);
}

export async function postResponses(url: string, body: unknown, init: { headers?: Record<string, string>; path?: string; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${url}${init.path ?? "/v1/responses"}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : typeof body === "string" ? body : JSON.stringify(body),
    signal: init.signal,
  });
}
