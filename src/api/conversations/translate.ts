import type { EngineMessage, ToolCall } from "../../engine/types.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { ConversationItem, NewConversationItem } from "../../store/conversations.ts";
import type { ChatMessage } from "../openai/schemas.ts";
import { parseArguments } from "../openai/translate.ts";
import type { InputItemT } from "./schemas.ts";

/**
 * Conversation items (OpenAI's Conversations shape, as the store keeps them) to and from what the
 * APIs send: the Conversations API's input items, chat messages, and the engine's messages a
 * conversation's history is generated from.
 */

type Role = "user" | "assistant" | "system" | "developer";
type TextPart = { type: "input_text"; text: string } | { type: "output_text"; text: string; annotations: never[]; logprobs: never[] } | { type: "refusal"; refusal: string };

const COMPLETED = "completed";

/** The assistant's text is output_text (with OpenAI's always-present annotations and logprobs), everyone else's input_text. */
function textPart(role: Role, text: string): TextPart {
  return role === "assistant" ? { type: "output_text", text, annotations: [], logprobs: [] } : { type: "input_text", text };
}

function messageItem(role: Role, parts: TextPart[]): NewConversationItem {
  return { type: "message", role, content: parts, status: COMPLETED };
}

/** A Conversations API input item as it is stored; `param` names it in a 400. */
export function storedItem(item: InputItemT, param: string): NewConversationItem {
  switch (item.type) {
    case "function_call":
      // Checked now: history is generated from it, where arguments that are not JSON could no longer be blamed on this request.
      parseArguments(item.arguments, `${param}.arguments`);
      return { type: "function_call", call_id: item.call_id, name: item.name, arguments: item.arguments, status: COMPLETED };
    case "function_call_output":
      return { type: "function_call_output", call_id: item.call_id, output: item.output, status: COMPLETED };
    case "reasoning":
      return { type: "reasoning", summary: item.summary ?? [], ...(item.content && { content: item.content }) };
    default: {
      const content = item.content;
      if (typeof content === "string") return messageItem(item.role, [textPart(item.role, content)]);
      return messageItem(
        item.role,
        content.map((part): TextPart => (part.type === "output_text" ? { type: "output_text", text: part.text, annotations: [], logprobs: [] } : part)),
      );
    }
  }
}

/** An assistant turn as chat completions send and answer it. */
export interface AssistantTurn {
  content?: string | null;
  reasoning?: string | null;
  toolCalls?: Array<{ id: string; function: { name: string; arguments: string } }>;
}

/**
 * An assistant turn as items, in the order the model produced them: its reasoning (kept only when
 * asked to), its text, its calls. An empty answer is still a message, so the turns keep alternating.
 */
export function assistantItems(turn: AssistantTurn, keepReasoning: boolean): NewConversationItem[] {
  const items: NewConversationItem[] = [];
  if (keepReasoning && turn.reasoning) items.push({ type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: turn.reasoning }] });
  const calls = turn.toolCalls ?? [];
  if (turn.content || calls.length === 0) items.push(messageItem("assistant", [textPart("assistant", turn.content ?? "")]));
  for (const call of calls) items.push({ type: "function_call", call_id: call.id, name: call.function.name, arguments: call.function.arguments, status: COMPLETED });
  return items;
}

/** A chat message as items; `param` names it when it cannot be kept. */
export function chatMessageItems(message: ChatMessage, keepReasoning: boolean, param: string): NewConversationItem[] {
  switch (message.role) {
    case "function":
      throw new InvalidRequestError(`${param}: a function message (the deprecated functions API) cannot be kept in a conversation; answer tool calls with tool messages`, param);
    case "tool":
      return [{ type: "function_call_output", call_id: message.tool_call_id, output: chatTexts(message.content).join("\n"), status: COMPLETED }];
    case "assistant":
      if (message.function_call) throw new InvalidRequestError(`${param}: a function_call (the deprecated functions API) cannot be kept in a conversation; use tool_calls`, param);
      return assistantItems(
        { content: message.content == null ? null : chatTexts(message.content).join("\n"), reasoning: message.reasoning_content ?? message.reasoning, toolCalls: message.tool_calls },
        keepReasoning,
      );
    default:
      return [messageItem(message.role, chatTexts(message.content).map((text) => textPart(message.role as Role, text)))];
  }
}

/** A chat content's texts; other parts were refused before anything is kept. */
function chatTexts(content: Exclude<ChatMessage["content"], null | undefined>): string[] {
  if (typeof content === "string") return [content];
  return content.flatMap((part) => (part.type === "text" ? [part.text] : []));
}

type StoredPart = { type: string; text?: string; refusal?: string };
type StoredItem =
  | { type: "message"; id: string; role: Role; content: StoredPart[] }
  | { type: "function_call"; id: string; call_id: string; name: string; arguments: string }
  | { type: "function_call_output"; id: string; call_id: string; output: string | StoredPart[] }
  | { type: "reasoning"; id: string; summary?: StoredPart[]; content?: StoredPart[] };

type Assistant = Extract<EngineMessage, { role: "assistant" }>;

/** Stages of an assistant turn, in the order the model produces them. */
const STAGE = { reasoning: 0, message: 1, function_call: 2 } as const;

/**
 * A conversation's items as the engine's messages. An assistant turn is several items (reasoning,
 * text, calls): they are gathered into one assistant message, a new one starting when an item
 * comes back to an earlier stage. Items of types no chat model reads (hosted tool calls the
 * Responses API may keep) are left out.
 */
export function historyMessages(items: ConversationItem[]): EngineMessage[] {
  const messages: EngineMessage[] = [];
  let turn: { message: Assistant; stage: number } | undefined;
  const assistant = (stage: number): Assistant => {
    if (!turn || stage < turn.stage) {
      turn = { message: { role: "assistant", content: "" }, stage };
      messages.push(turn.message);
    }
    turn.stage = stage;
    return turn.message;
  };
  const end = (message: EngineMessage) => {
    turn = undefined;
    messages.push(message);
  };
  for (const item of items as unknown as StoredItem[]) {
    switch (item.type) {
      case "reasoning": {
        const text = reasoningText(item);
        if (text) assistant(STAGE.reasoning).reasoning = text;
        break;
      }
      case "function_call": {
        const message = assistant(STAGE.function_call);
        message.toolCalls = [...(message.toolCalls ?? []), historyCall(item)];
        break;
      }
      case "function_call_output":
        end({ role: "tool", content: typeof item.output === "string" ? item.output : partsText(item.output), toolCallId: item.call_id });
        break;
      case "message":
        if (item.role === "assistant") assistant(STAGE.message).content += partsText(item.content);
        else end({ role: item.role === "user" ? "user" : "system", content: partsText(item.content) });
        break;
    }
  }
  return messages;
}

function partsText(parts: StoredPart[]): string {
  return parts.map((part) => part.text ?? part.refusal ?? "").join("\n");
}

function reasoningText(item: Extract<StoredItem, { type: "reasoning" }>): string {
  const content = (item.content ?? []).map((part) => part.text ?? "").join("");
  return content || (item.summary ?? []).map((part) => part.text ?? "").join("\n\n");
}

function historyCall(item: Extract<StoredItem, { type: "function_call" }>): ToolCall {
  try {
    return { id: item.call_id, name: item.name, arguments: JSON.parse(item.arguments) };
  } catch {
    throw new InvalidRequestError(`the conversation's item ${item.id} is a function_call whose arguments are not JSON; delete it to continue the conversation`, "conversation");
  }
}
