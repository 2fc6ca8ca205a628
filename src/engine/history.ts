import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from "node-llama-cpp";
import { InvalidRequestError } from "../errors.ts";
import type { EngineMessage } from "./types.ts";

/**
 * Neutral messages → node-llama-cpp's chat history. Tool results are folded into the
 * assistant turn that made the call, which is how node-llama-cpp's chat wrappers render them.
 */
export function toChatHistory(messages: EngineMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  messages.forEach((message, index) => {
    switch (message.role) {
      case "system":
        history.push({ type: "system", text: message.content });
        break;
      case "user":
        history.push({ type: "user", text: message.content });
        break;
      case "assistant": {
        const response: ChatModelResponse["response"] = [];
        if (message.reasoning) response.push({ type: "segment", segmentType: "thought", text: message.reasoning, ended: true });
        if (message.content) response.push(message.content);
        for (const call of message.toolCalls ?? []) {
          response.push({ type: "functionCall", name: call.name, params: call.arguments, result: undefined, ...{ id: call.id } } as ChatModelFunctionCall);
        }
        history.push({ type: "model", response });
        break;
      }
      case "tool": {
        const call = findPendingCall(history, message.toolCallId, message.name);
        if (!call) {
          throw new InvalidRequestError(
            `messages[${index}]: a tool message must answer a tool call made by an earlier assistant message` +
              (message.toolCallId ? ` (no call with id "${message.toolCallId}")` : ""),
            `messages[${index}].tool_call_id`,
          );
        }
        call.result = parseMaybeJson(message.content);
        break;
      }
    }
  });
  // Calls that never got a result still render; the model sees an empty result.
  for (const item of history) {
    if (item.type !== "model") continue;
    for (const part of item.response) if (typeof part === "object" && part.type === "functionCall" && part.result === undefined) part.result = "";
  }
  return history;
}

function findPendingCall(history: ChatHistoryItem[], id: string | undefined, name: string | undefined): ChatModelFunctionCall | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const item = history[i]!;
    if (item.type === "user") return undefined;
    if (item.type !== "model") continue;
    const calls = item.response.filter((p): p is ChatModelFunctionCall => typeof p === "object" && p.type === "functionCall");
    const pending = calls.filter((c) => c.result === undefined);
    if (id !== undefined) return calls.find((c) => (c as { id?: string }).id === id && c.result === undefined);
    if (name !== undefined) return pending.find((c) => c.name === name);
    return pending[0];
  }
  return undefined;
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
