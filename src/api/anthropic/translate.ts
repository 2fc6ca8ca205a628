import { InvalidRequestError } from "../../errors.ts";
import type { EngineMessage, GenerationRequest, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from "../../engine/types.ts";
import type { ContentBlockT, CountTokensRequestT, MessageParamT, MessagesRequestT, ToolT } from "./schemas.ts";

/**
 * Anthropic's request → the engine's. Field paths in errors are Anthropic's dotted ones
 * (`messages.1.content.0.tool_use_id`). Tool results live in user messages; the engine wants them
 * as tool messages answering the previous assistant turn, so each user message becomes its tool
 * results (first, as the API requires them) followed by its text.
 */
export function toGenerationRequest(body: MessagesRequestT | CountTokensRequestT, signal?: AbortSignal): GenerationRequest {
  const generation: Partial<MessagesRequestT> = "max_tokens" in body ? body : {};
  const { tools, toolChoice, parallelToolCalls } = toolsOf(body);
  const responseFormat = responseFormatOf(body, tools.length > 0 && toolChoice !== "none");
  return {
    model: body.model,
    messages: [...systemOf(body.system), ...toEngineMessages(body.messages)],
    sampling: { temperature: generation.temperature, topP: generation.top_p, topK: generation.top_k },
    maxTokens: generation.max_tokens,
    stop: generation.stop_sequences ?? [],
    tools,
    toolChoice,
    parallelToolCalls,
    responseFormat,
    ...thinkingOf(body.thinking),
    n: 1,
    signal,
  };
}

function systemOf(system: MessagesRequestT["system"]): EngineMessage[] {
  if (system === undefined) return [];
  const text = typeof system === "string" ? system : system.map((block) => block.text).join("\n");
  return text ? [{ role: "system", content: text }] : [];
}

/** enabled and adaptive switch thinking on (enabled with its budget), disabled off; absent keeps the model's default. */
function thinkingOf(thinking: MessagesRequestT["thinking"]): Pick<GenerationRequest, "reasoning" | "reasoningBudget"> {
  switch (thinking?.type) {
    case undefined:
      return {};
    case "disabled":
      return { reasoning: false };
    case "adaptive":
      return { reasoning: true };
    case "enabled":
      return { reasoning: true, reasoningBudget: thinking.budget_tokens };
  }
}

const CLIENT_TOOL = new Set([undefined, "custom"]);

function toolsOf(body: MessagesRequestT | CountTokensRequestT): Pick<GenerationRequest, "tools" | "toolChoice" | "parallelToolCalls"> {
  const tools = (body.tools ?? []).map(toToolDefinition);
  const choice = body.tool_choice;
  if (choice?.type === "tool" && !tools.some((tool) => tool.name === choice.name)) {
    throw new InvalidRequestError(`tool_choice.name: "${choice.name}" is not the name of any tool in tools`, "tool_choice.name");
  }
  const toolChoice: ToolChoice = !choice || choice.type === "auto" ? "auto" : choice.type === "any" ? "required" : choice.type === "none" ? "none" : { name: choice.name };
  const disabled = choice && "disable_parallel_tool_use" in choice ? choice.disable_parallel_tool_use === true : false;
  return { tools, toolChoice, parallelToolCalls: !disabled };
}

/**
 * A client tool becomes an engine tool whose parameters are its input_schema, enforced while the
 * call is generated. Server tools (web search, bash, the text editor, code execution…) run on
 * Anthropic's side, which Hearth has no counterpart for: they are refused, naming them.
 */
function toToolDefinition(tool: ToolT, i: number): ToolDefinition {
  if (!CLIENT_TOOL.has(tool.type)) {
    throw new InvalidRequestError(
      `tools.${i}.type: "${tool.type}" is a server tool, which Hearth cannot run; define it as a client tool with an input_schema and run it yourself`,
      `tools.${i}.type`,
    );
  }
  const schema = tool.input_schema;
  if (schema === undefined) throw new InvalidRequestError(`tools.${i}.input_schema: Field required`, `tools.${i}.input_schema`);
  // A tool's input is always an object: a schema saying nothing of its type means one.
  if (schema.type !== undefined && schema.type !== "object") {
    throw new InvalidRequestError(`tools.${i}.input_schema.type: Input should be 'object'`, `tools.${i}.input_schema.type`);
  }
  return { name: tool.name, description: tool.description, parameters: { type: "object", ...schema }, field: `tools.${i}.input_schema` };
}

function responseFormatOf(body: MessagesRequestT | CountTokensRequestT, offersTools: boolean): ResponseFormat {
  const format = body.output_config?.format;
  if (!format) return { type: "text" };
  if (offersTools) throw new InvalidRequestError('output_config.format cannot be combined with tools; pass tool_choice {"type": "none"} or drop one of them', "output_config.format");
  return { type: "json", schema: format.schema, param: "output_config.format.schema" };
}

/** Consecutive messages of one role are one turn, as the API merges them. */
function toEngineMessages(messages: MessageParamT[]): EngineMessage[] {
  const out: EngineMessage[] = [];
  let previousCalls = new Set<string>();
  messages.forEach((message, i) => {
    const blocks: ContentBlockT[] = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    const at = (j: number) => `messages.${i}.content.${j}`;
    switch (message.role) {
      case "system":
        out.push({ role: "system", content: blocks.map((b) => (b as { text: string }).text).join("\n") });
        previousCalls = new Set();
        break;
      case "user": {
        const texts: string[] = [];
        blocks.forEach((block, j) => {
          switch (block.type) {
            case "text":
              texts.push(block.text);
              break;
            case "tool_result":
              if (!previousCalls.has(block.tool_use_id)) {
                throw new InvalidRequestError(
                  `${at(j)}.tool_use_id: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
                  `${at(j)}.tool_use_id`,
                );
              }
              // before the text of the same turn, which may have come in an earlier message
              if (out.at(-1)?.role === "user") out.splice(-1, 0, { role: "tool", content: toolResultText(block, at(j)), toolCallId: block.tool_use_id });
              else out.push({ role: "tool", content: toolResultText(block, at(j)), toolCallId: block.tool_use_id });
              break;
            case "image":
            case "document":
              throw unsupportedBlock(block.type, at(j));
            default:
              throw new InvalidRequestError(`${at(j)}.type: a user message cannot hold a ${block.type} block`, `${at(j)}.type`);
          }
        });
        const previous = out.at(-1);
        // A user turn split over messages (or text after tool results) is one turn.
        if (texts.length > 0) {
          if (previous?.role === "user") previous.content += "\n" + texts.join("\n");
          else out.push({ role: "user", content: texts.join("\n") });
        }
        break;
      }
      case "assistant": {
        const texts: string[] = [];
        const reasoning: string[] = [];
        const calls: ToolCall[] = [];
        blocks.forEach((block, j) => {
          switch (block.type) {
            case "text":
              texts.push(block.text);
              break;
            case "thinking":
              reasoning.push(block.thinking);
              break;
            case "redacted_thinking":
              break;
            case "tool_use":
              calls.push({ id: block.id, name: block.name, arguments: block.input });
              break;
            case "image":
            case "document":
              throw unsupportedBlock(block.type, at(j));
            default:
              throw new InvalidRequestError(`${at(j)}.type: an assistant message cannot hold a ${block.type} block`, `${at(j)}.type`);
          }
        });
        out.push({ role: "assistant", content: texts.join(""), reasoning: reasoning.join("\n") || undefined, toolCalls: calls.length > 0 ? calls : undefined });
        previousCalls = new Set(calls.map((call) => call.id));
        return;
      }
    }
    if (message.role !== "user" || !blocks.some((b) => b.type === "tool_result")) previousCalls = new Set();
  });
  return out;
}

/** A tool's result as the model reads it: its text, marked when the tool failed. */
function toolResultText(block: Extract<ContentBlockT, { type: "tool_result" }>, at: string): string {
  const content = block.content ?? "";
  const text =
    typeof content === "string"
      ? content
      : content
          .map((part, k) => {
            if (part.type === "text") return part.text;
            throw unsupportedBlock(part.type, `${at}.content.${k}`);
          })
          .join("\n");
  return block.is_error ? `Error: ${text}` : text;
}

/** Images and documents need a vision model, and no GGUF Hearth can load has one yet: refused rather than silently dropped. */
function unsupportedBlock(type: "image" | "document", at: string): InvalidRequestError {
  return new InvalidRequestError(`${at}: this model does not support ${type} input`, at);
}
