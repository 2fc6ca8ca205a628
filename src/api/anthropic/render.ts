import { createHash } from "node:crypto";
import type { StartedGeneration } from "../../engine/engine.ts";
import type { FinishReason, Usage } from "../../engine/types.ts";
import { randomId } from "../../observability/request-id.ts";
import type { ContentOutT, MessageT, StopReasonT, UsageT } from "./schemas.ts";

type StartBlock = { type: "text"; text: "" } | { type: "thinking"; thinking: ""; signature: "" } | { type: "tool_use"; id: string; name: string; input: Record<string, never> };
type Delta =
  | { type: "text_delta"; text: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "input_json_delta"; partial_json: string };

/** Anthropic's stream events, in the order /v1/messages sends them; the JSON's `type` is the SSE event name. */
export type StreamEvent =
  | { type: "message_start"; message: Omit<MessageT, "stop_reason"> & { stop_reason: null } }
  | { type: "content_block_start"; index: number; content_block: StartBlock }
  | { type: "content_block_delta"; index: number; delta: Delta }
  | { type: "content_block_stop"; index: number }
  | { type: "message_delta"; delta: { stop_reason: StopReasonT; stop_sequence: string | null }; usage: UsageT }
  | { type: "message_stop" }
  | { type: "ping" };

export function messageId(): string {
  return `msg_${randomId(24)}`;
}

/** Hearth's call ids are its own; Anthropic's clients expect `toolu_` ones. */
function toolUseId(engineId: string): string {
  return `toolu_${engineId.replace(/^call_/, "")}`;
}

/**
 * A thinking block's signature: Anthropic's is its encrypted thinking, which clients send back
 * unchanged. Hearth needs nothing back, so it is an opaque digest of the model and the thinking,
 * non-empty as clients expect; any signature is accepted on the way in.
 */
export function thinkingSignature(model: string, thinking: string): string {
  return Buffer.from(`hearth:${createHash("sha256").update(model).update("\0").update(thinking).digest("hex")}`).toString("base64");
}

function usageOf(usage: Pick<Usage, "promptTokens" | "cachedTokens" | "completionTokens">): UsageT {
  return {
    input_tokens: usage.promptTokens - usage.cachedTokens,
    output_tokens: usage.completionTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cachedTokens,
  };
}

function stopReasonOf(reason: FinishReason, stopSequence: string | undefined): StopReasonT {
  switch (reason) {
    case "tool_calls":
      return "tool_use";
    case "length":
      return "max_tokens";
    default:
      return stopSequence !== undefined ? "stop_sequence" : "end_turn";
  }
}

/**
 * The engine's events as Anthropic's stream: message_start (with the prompt's usage), each block
 * started, filled and stopped in turn (thinking, text, tool_use, in the order the model produced
 * them), message_delta with the stop reason and the final usage, message_stop. A ping follows
 * message_start, as the API sends one; the non-streamed answer is folded from the same events.
 */
export async function* messageEvents(started: StartedGeneration): AsyncGenerator<StreamEvent> {
  const model = started.modelName;
  yield {
    type: "message_start",
    message: {
      id: messageId(),
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usageOf({ promptTokens: started.promptTokens, cachedTokens: started.cachedTokens, completionTokens: 0 }),
    },
  };
  yield { type: "ping" };
  let index = -1;
  let open: { kind: "text" } | { kind: "thinking"; thinking: string } | undefined;
  let stop: { reason: StopReasonT; sequence: string | null } = { reason: "end_turn", sequence: null };
  const close = function* (): Generator<StreamEvent> {
    if (!open) return;
    if (open.kind === "thinking") yield { type: "content_block_delta", index, delta: { type: "signature_delta", signature: thinkingSignature(model, open.thinking) } };
    yield { type: "content_block_stop", index };
    open = undefined;
  };
  for await (const event of started.events) {
    switch (event.type) {
      case "reasoning":
        if (open?.kind !== "thinking") {
          yield* close();
          open = { kind: "thinking", thinking: "" };
          yield { type: "content_block_start", index: ++index, content_block: { type: "thinking", thinking: "", signature: "" } };
        }
        open.thinking += event.text;
        yield { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: event.text } };
        break;
      case "content":
        if (open?.kind !== "text") {
          yield* close();
          open = { kind: "text" };
          yield { type: "content_block_start", index: ++index, content_block: { type: "text", text: "" } };
        }
        yield { type: "content_block_delta", index, delta: { type: "text_delta", text: event.text } };
        break;
      case "tool_call":
        yield* close();
        yield { type: "content_block_start", index: ++index, content_block: { type: "tool_use", id: toolUseId(event.call.id), name: event.call.name, input: {} } };
        yield { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(event.call.arguments ?? {}) } };
        yield { type: "content_block_stop", index };
        break;
      case "finish":
        yield* close();
        stop = { reason: stopReasonOf(event.finishReason, event.stopSequence), sequence: event.stopSequence ?? null };
        break;
      case "done":
        yield { type: "message_delta", delta: { stop_reason: stop.reason, stop_sequence: stop.sequence }, usage: usageOf(event.usage) };
        yield { type: "message_stop" };
        return;
    }
  }
  throw new Error("generation ended without a done event");
}

/** The whole Message, folded from the stream events the way Anthropic's SDK accumulates them. */
export async function collectMessage(events: AsyncIterable<StreamEvent>): Promise<MessageT> {
  let message: MessageT | undefined;
  const inputs = new Map<number, string>();
  for await (const event of events) {
    switch (event.type) {
      case "message_start":
        message = { ...event.message, content: [], stop_reason: "end_turn" };
        break;
      case "content_block_start":
        message!.content[event.index] = (event.content_block.type === "text" ? { ...event.content_block, citations: null } : { ...event.content_block }) as ContentOutT;
        break;
      case "content_block_delta": {
        const block = message!.content[event.index]!;
        const delta = event.delta;
        if (delta.type === "text_delta" && block.type === "text") block.text += delta.text;
        else if (delta.type === "thinking_delta" && block.type === "thinking") block.thinking += delta.thinking;
        else if (delta.type === "signature_delta" && block.type === "thinking") block.signature = delta.signature;
        else if (delta.type === "input_json_delta") inputs.set(event.index, (inputs.get(event.index) ?? "") + delta.partial_json);
        break;
      }
      case "content_block_stop": {
        const block = message!.content[event.index]!;
        if (block.type === "tool_use") block.input = JSON.parse(inputs.get(event.index) || "{}");
        break;
      }
      case "message_delta":
        message!.stop_reason = event.delta.stop_reason;
        message!.stop_sequence = event.delta.stop_sequence;
        message!.usage = event.usage;
        break;
      case "message_stop":
        return message!;
    }
  }
  throw new Error("generation ended without message_stop");
}
