import { type ChatChunk, type HearthClient, isAbort, type Message, type ToolCall } from "./api.ts";
import type { ParameterValue } from "./parameters.ts";
import { type Output, TerminalProgress } from "./progress.ts";

export interface ChatRequest {
  model: string;
  messages: Message[];
  think?: boolean | string;
  format?: string;
  options: Record<string, ParameterValue>;
  keepAlive?: string;
}

export interface ChatView {
  out: Output;
  /** a terminal: thinking dimmed rather than plain */
  styled: boolean;
  hideThinking: boolean;
  /** where a spinner turns until the first words arrive (a terminal), if anywhere */
  waitingOn?: Output;
}

const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** The CLI offers the model no tools, so a tool call is reported rather than run, in Ollama's words. */
function toolCallsText(calls: ToolCall[], styled: boolean): string {
  const lines = calls.map((call) => `  Model called a non-existent function '${call.function.name}()' with arguments: ${JSON.stringify(call.function.arguments)}`);
  return styled ? `${DIM}${lines.join("\n")}${RESET}` : lines.join("\n");
}

/**
 * Streams one answer of POST /api/chat to the view as it arrives, thinking first between
 * Ollama's "Thinking..." and "...done thinking." lines. Returns the assistant's message for the
 * history, or undefined when the signal cancelled it.
 */
export async function streamChat(client: HearthClient, request: ChatRequest, view: ChatView, signal?: AbortSignal): Promise<Message | undefined> {
  const waiting = view.waitingOn ? new TerminalProgress(view.waitingOn).start() : undefined;
  waiting?.status("");
  const write = (text: string) => {
    if (text) view.out.write(text);
  };
  let role = "assistant";
  let thinking = "";
  let content = "";
  let thinkingOpen = false;

  const onChunk = ({ message }: ChatChunk) => {
    if (!message) return;
    if (message.content || (message.thinking && !view.hideThinking) || message.tool_calls?.length) waiting?.clear();
    role = message.role || role;
    if (message.thinking) {
      thinking += message.thinking;
      if (!view.hideThinking) {
        if (!thinkingOpen) write(view.styled ? `${DIM}Thinking...\n` : "Thinking...\n");
        thinkingOpen = true;
        write(message.thinking);
      }
    }
    if (thinkingOpen && (message.content || message.tool_calls?.length)) {
      if (!thinking.endsWith("\n")) write("\n");
      write(view.styled ? `...done thinking.\n\n${RESET}` : "...done thinking.\n\n");
      thinkingOpen = false;
    }
    content += message.content ?? "";
    if (message.tool_calls?.length) write(toolCallsText(message.tool_calls, view.styled));
    write(message.content ?? "");
  };

  const body = {
    model: request.model,
    messages: request.messages,
    ...(request.think !== undefined ? { think: request.think } : {}),
    ...(request.format ? { format: request.format } : {}),
    ...(Object.keys(request.options).length > 0 ? { options: request.options } : {}),
    ...(request.keepAlive !== undefined ? { keep_alive: request.keepAlive } : {}),
  };
  let cancelled = false;
  try {
    await client.stream("/api/chat", body, onChunk, signal);
  } catch (err) {
    if (!isAbort(err)) throw err;
    cancelled = true;
  } finally {
    waiting?.clear();
    if (view.styled && thinkingOpen) write(RESET);
  }
  write("\n\n");
  return cancelled ? undefined : { role, content, ...(thinking ? { thinking } : {}) };
}
