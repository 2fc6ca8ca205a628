import { InvalidRequestError } from "../../errors.ts";
import type { EngineMessage, GenerationRequest, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from "../../engine/types.ts";
import { parseArguments, thinkingForEffort } from "../openai/translate.ts";
import type { ContentPartT, CreateResponseRequestT, FileSearchToolT, FunctionToolT, InputItemT } from "./schemas.ts";

/**
 * Stored items a request continues, read before its `input`: a previous response's, or a
 * conversation's. `param` is the field that named them, which their errors name.
 */
export interface History {
  items: InputItemT[];
  param: "previous_response_id" | "conversation";
}

/** What a Responses request asks of the engine: `history`, when it continues one, then its `input`. */
export function toGenerationRequest(body: CreateResponseRequestT, signal?: AbortSignal, history?: History): GenerationRequest {
  refuseUnsupported(body);
  const tools = functionTools(body);
  const toolChoice = toToolChoice(body, tools);
  const responseFormat = toResponseFormat(body);
  if (responseFormat.type !== "text" && tools.length > 0 && toolChoice !== "none") {
    throw new InvalidRequestError('text.format cannot be combined with function tools: pass tool_choice "none" or drop one of them', "text.format");
  }
  const effort = body.reasoning?.effort;
  return {
    model: body.model,
    messages: toMessages(body, history),
    sampling: { temperature: body.temperature ?? undefined, topP: body.top_p ?? undefined },
    maxTokens: body.max_output_tokens ?? undefined,
    stop: [],
    tools: tools.map(({ tool, index }) => ({ name: tool.name, description: tool.description ?? undefined, parameters: tool.parameters ?? undefined, field: `tools[${index}].parameters` }) satisfies ToolDefinition),
    toolChoice,
    parallelToolCalls: body.parallel_tool_calls ?? true,
    responseFormat,
    reasoning: effort == null ? undefined : thinkingForEffort(effort),
    n: 1,
    topLogprobs: wantsLogprobs(body) ? (body.top_logprobs ?? 0) : undefined,
    signal,
  };
}

export const ENCRYPTED_REASONING = "reasoning.encrypted_content";
/** include: the file_search_call item carries the chunks it found */
export const FILE_SEARCH_RESULTS = "file_search_call.results";
const LOGPROBS = "message.output_text.logprobs";

export function wantsLogprobs(body: CreateResponseRequestT): boolean {
  return body.include?.includes(LOGPROBS) ?? false;
}

/** What Hearth cannot do is refused by name, rather than answered as if it had been done. */
function refuseUnsupported(body: CreateResponseRequestT): void {
  if (body.background === true) throw new InvalidRequestError("background is not supported: wait for the answer, or stream it.", "background");
  if (body.prompt != null) throw new InvalidRequestError("prompt (a stored prompt template) is not supported: send the instructions and input themselves.", "prompt");
}

/** The id of the conversation a request names, as a string or as `{id}`. */
export function conversationId(body: CreateResponseRequestT): string | undefined {
  const conversation = body.conversation;
  return typeof conversation === "string" ? conversation : conversation?.id;
}

/** The file_search tool, which Hearth runs itself; one at most. */
export function fileSearchTool(body: CreateResponseRequestT): FileSearchToolT | undefined {
  const tools = (body.tools ?? []).filter((tool): tool is FileSearchToolT => tool.type === "file_search");
  if (tools.length > 1) throw new InvalidRequestError("one file_search tool at most: name every vector store in its vector_store_ids", "tools");
  return tools[0];
}

/** The function tools, with their index in `tools`; hosted and custom tools (web_search, local_shell…) are skipped. */
export function functionTools(body: CreateResponseRequestT): Array<{ tool: FunctionToolT; index: number }> {
  return (body.tools ?? []).flatMap((tool, index) => (tool.type === "function" ? [{ tool: tool as FunctionToolT, index }] : []));
}

function toToolChoice(body: CreateResponseRequestT, tools: Array<{ tool: FunctionToolT }>): ToolChoice {
  const choice = body.tool_choice;
  if (choice == null) return "auto";
  const names = tools.map(({ tool }) => tool.name);
  if (typeof choice === "object") {
    if (!names.includes(choice.name)) throw new InvalidRequestError(`tool_choice names the function "${choice.name}", which is not among the function tools`, "tool_choice");
    return { name: choice.name };
  }
  if (choice === "required" && names.length === 0) throw new InvalidRequestError('tool_choice "required" needs function tools to call; none were given', "tool_choice");
  return choice;
}

function toResponseFormat(body: CreateResponseRequestT): ResponseFormat {
  const format = body.text?.format;
  if (!format || format.type === "text") return { type: "text" };
  if (format.type === "json_object") return { type: "json", param: "text.format" };
  return { type: "json", schema: format.schema, param: "text.format.schema" };
}

/**
 * History and input items → the engine's messages. An assistant turn arrives as several items (its
 * reasoning, its message, its function calls, in that order): they are gathered into one assistant
 * message, a new one starting when an item comes back to an earlier stage of the turn. Function
 * call outputs answer calls by call_id, the input's answering the history's calls too.
 */
function toMessages(body: CreateResponseRequestT, history: History | undefined): EngineMessage[] {
  const messages: EngineMessage[] = [];
  if (body.instructions) messages.push({ role: "system", content: body.instructions });
  const turn = new AssistantTurns(messages);
  if (history) for (const item of history.items) turn.add(item, storedSite(history.param, item));
  const input = body.input ?? [];
  if (typeof input === "string") {
    messages.push({ role: "user", content: input });
    return messages;
  }
  input.forEach((item, index) => turn.add(item, inputSite(index)));
  return messages;
}

/** Where an item came from, as its errors name it: its place in `input`, or the field whose stored items hold it. */
interface Site {
  at: string;
  param(path: string): string;
}

function inputSite(index: number): Site {
  return { at: `input[${index}]`, param: (path) => `input[${index}]${path}` };
}

function storedSite(param: History["param"], item: InputItemT): Site {
  return { at: `${param === "conversation" ? "the conversation's" : "the previous response's"} item ${item.id ?? item.type}`, param: () => param };
}

type Assistant = Extract<EngineMessage, { role: "assistant" }>;

/** Stages of an assistant turn, in the order the model produces them. */
const STAGE = { reasoning: 0, message: 1, function_call: 2 } as const;

class AssistantTurns {
  private current?: { message: Assistant; stage: number };
  /** calls made since the last user message and not answered yet, by call_id */
  private pending = new Set<string>();

  constructor(private readonly messages: EngineMessage[]) {}

  add(item: InputItemT, site: Site): void {
    const at = site.at;
    switch (item.type) {
      case "reasoning": {
        const text = reasoningText(item);
        if (!text) return;
        const message = this.assistant(STAGE.reasoning);
        message.reasoning = join(message.reasoning, text, "\n\n");
        return;
      }
      case "function_call": {
        const call: ToolCall = { id: item.call_id, name: item.name, arguments: parseArguments(item.arguments, site.param(".arguments")) };
        const message = this.assistant(STAGE.function_call);
        message.toolCalls = [...(message.toolCalls ?? []), call];
        this.pending.add(item.call_id);
        return;
      }
      case "function_call_output": {
        if (!this.pending.delete(item.call_id)) {
          throw new InvalidRequestError(
            `${at}: a function_call_output must answer a function_call before it, since the last user message (no unanswered call with call_id "${item.call_id}")`,
            site.param(".call_id"),
          );
        }
        this.end({ role: "tool", content: textOf(item.output, site, ".output"), toolCallId: item.call_id });
        return;
      }
      case "file_search_call":
        // Its chunks were context for the answer after it, which carries what they said.
        return;
      default: {
        const content = textOf(item.content, site, ".content");
        if (item.role === "assistant") {
          const message = this.assistant(STAGE.message);
          message.content = join(message.content, content, "");
          return;
        }
        if (item.role === "user") this.pending.clear();
        this.end(item.role === "user" ? { role: "user", content } : { role: "system", content });
      }
    }
  }

  /** The assistant message an item of this stage belongs to: the current one, or a new one. */
  private assistant(stage: number): Assistant {
    if (!this.current || stage < this.current.stage) {
      const message: Assistant = { role: "assistant", content: "" };
      this.messages.push(message);
      this.current = { message, stage };
    }
    this.current.stage = stage;
    return this.current.message;
  }

  private end(message: EngineMessage): void {
    this.current = undefined;
    this.messages.push(message);
  }
}

function join(before: string | undefined, text: string, separator: string): string {
  return before ? before + separator + text : text;
}

/**
 * The thinking of an earlier turn: its reasoning_text, else the copy Hearth put in
 * encrypted_content (Codex CLI sends reasoning back without its text), else its summary.
 * Another server's encrypted_content cannot be read and is left out.
 */
function reasoningText(item: Extract<InputItemT, { type: "reasoning" }>): string {
  const content = (item.content ?? []).map((part) => part.text).join("");
  if (content) return content;
  const decoded = item.encrypted_content ? decodeReasoning(item.encrypted_content) : undefined;
  if (decoded !== undefined) return decoded;
  return (item.summary ?? []).map((part) => part.text).join("\n\n");
}

const REASONING_PREFIX = "hearth.v1.";

/** The thinking as encrypted_content: encoded, not encrypted (there is nothing to keep from the client that sent the request). */
export function encodeReasoning(text: string): string {
  return REASONING_PREFIX + Buffer.from(text, "utf8").toString("base64");
}

function decodeReasoning(encoded: string): string | undefined {
  if (!encoded.startsWith(REASONING_PREFIX)) return undefined;
  return Buffer.from(encoded.slice(REASONING_PREFIX.length), "base64").toString("utf8");
}

/** Text parts are joined; images and files need what no model Hearth loads has, so they are refused rather than dropped. */
function textOf(content: string | ContentPartT[], site: Site, path: string): string {
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      const param = site.param(`${path}[${j}]`);
      switch (part.type) {
        case "input_text":
        case "output_text":
          return part.text;
        case "refusal":
          return part.refusal;
        case "input_image":
          throw new InvalidRequestError(`${site.at}${path}[${j}]: this model does not support image input`, param);
        case "input_file":
          throw new InvalidRequestError(`${site.at}${path}[${j}]: file input is not supported; send the file's text as input_text`, param);
      }
    })
    .join("\n");
}
