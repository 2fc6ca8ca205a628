import { InvalidRequestError } from "../../errors.ts";
import type { EngineEvent, EngineMessage, FinishReason, GenerationRequest, ResponseFormat, TokenLogprob, ToolCall, ToolChoice, Usage } from "../../engine/types.ts";
import { functionsAsTools, type CallStyle } from "./legacy-functions.ts";
import type { RagContextT } from "../rag-params.ts";
import type { ChatCompletionChunkT, ChatCompletionRequestT, ChatCompletionT, ChatMessage, LogprobsT } from "./schemas.ts";

// xhigh and max: the Responses API's further efforts.
const REASONING_ON = new Set(["medium", "high", "xhigh", "max", "on"]);

/** An effort as a thinking switch: medium and up turn thinking on, anything lower turns it off. */
export function thinkingForEffort(effort: string): boolean {
  return REASONING_ON.has(effort);
}

/**
 * One switch, four spellings (seed 000/004): vLLM's chat_template_kwargs.enable_thinking and
 * top-level enable_thinking are explicit booleans and win; OpenAI's reasoning.effort and
 * reasoning_effort map low/minimal/off/none to off and medium/high/on to on.
 */
export function reasoningSwitch(body: ChatCompletionRequestT): boolean | undefined {
  const explicit = body.chat_template_kwargs?.enable_thinking ?? body.enable_thinking;
  if (explicit !== undefined && explicit !== null) return explicit;
  const effort = body.reasoning?.effort ?? body.reasoning_effort;
  if (effort === undefined || effort === null) return undefined;
  return thinkingForEffort(effort);
}

export function toGenerationRequest(body: ChatCompletionRequestT, signal?: AbortSignal): GenerationRequest {
  if (body.top_logprobs != null && body.logprobs !== true) {
    throw new InvalidRequestError("top_logprobs requires logprobs: true", "top_logprobs");
  }
  if (body.guided_choice && body.response_format && body.response_format.type !== "text") {
    throw new InvalidRequestError("guided_choice and response_format cannot be combined", "guided_choice");
  }
  return {
    model: body.model,
    messages: body.messages.map(toEngineMessage),
    sampling: {
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      topK: body.top_k ?? undefined,
      minP: body.min_p ?? undefined,
      seed: body.seed ?? undefined,
      repeatPenalty: body.repetition_penalty ?? undefined,
      presencePenalty: body.presence_penalty ?? undefined,
      frequencyPenalty: body.frequency_penalty ?? undefined,
      logitBias: body.logit_bias ? Object.fromEntries(Object.entries(body.logit_bias).map(([id, bias]) => [Number(id), bias])) : undefined,
    },
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    stop: body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop,
    ...callingOf(body),
    responseFormat: body.guided_choice ? { type: "choice", choices: body.guided_choice } : toResponseFormat(body.response_format),
    reasoning: reasoningSwitch(body),
    n: body.n ?? 1,
    topLogprobs: body.logprobs ? (body.top_logprobs ?? 0) : undefined,
    prediction: predictionOf(body.prediction),
    signal,
  };
}

function callingOf(body: ChatCompletionRequestT): Pick<GenerationRequest, "tools" | "toolChoice" | "parallelToolCalls"> {
  const legacy = functionsAsTools(body);
  if (legacy) return legacy;
  const choice = body.tool_choice;
  const names = (body.tools ?? []).map((tool) => tool.function.name);
  // As OpenAI does: a call that cannot be made is refused, not quietly answered without one.
  if (typeof choice === "object" && choice !== null && !names.includes(choice.function.name)) {
    throw new InvalidRequestError(`tool_choice names the function "${choice.function.name}", which is not in tools`, "tool_choice");
  }
  if (choice === "required" && names.length === 0) throw new InvalidRequestError('tool_choice "required" needs tools to call; none were given', "tool_choice");
  return {
    tools: (body.tools ?? []).map((tool) => ({ name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters })),
    toolChoice: toToolChoice(body.tool_choice),
    parallelToolCalls: body.parallel_tool_calls ?? true,
  };
}

/** Parts are pieces of one text (a file being edited), so they are joined as they are. An empty prediction drafts nothing. */
function predictionOf(prediction: ChatCompletionRequestT["prediction"]): string | undefined {
  if (!prediction) return undefined;
  const text = typeof prediction.content === "string" ? prediction.content : prediction.content.map((part) => part.text).join("");
  return text || undefined;
}

function toToolChoice(choice: ChatCompletionRequestT["tool_choice"]): ToolChoice {
  if (choice == null) return "auto";
  return typeof choice === "string" ? choice : { name: choice.function.name };
}

function toResponseFormat(format: ChatCompletionRequestT["response_format"]): ResponseFormat {
  if (!format || format.type === "text") return { type: "text" };
  if (format.type === "json_object") return { type: "json" };
  return { type: "json", schema: format.json_schema.schema ?? {} };
}

function toEngineMessage(message: ChatMessage, index: number): EngineMessage {
  switch (message.role) {
    case "system":
    case "developer":
      return { role: "system", content: textOf(message.content, index) };
    case "user":
      return { role: "user", content: textOf(message.content, index) };
    case "tool":
      return { role: "tool", content: textOf(message.content, index), toolCallId: message.tool_call_id };
    // A function result names its function instead of a call id; the engine pairs it by that name.
    case "function":
      return { role: "tool", content: message.content ?? "", name: message.name };
    case "assistant":
      return {
        role: "assistant",
        content: message.content == null ? "" : textOf(message.content, index),
        reasoning: message.reasoning_content ?? message.reasoning ?? undefined,
        toolCalls: assistantCalls(message, index),
      };
  }
}

function assistantCalls(message: Extract<ChatMessage, { role: "assistant" }>, index: number): ToolCall[] | undefined {
  const calls = message.tool_calls?.map((call, j) => ({
    id: call.id,
    name: call.function.name,
    arguments: parseArguments(call.function.arguments, `messages[${index}].tool_calls[${j}].function.arguments`),
  }));
  if (!message.function_call) return calls;
  const { name, arguments: raw } = message.function_call;
  // Legacy calls had no id; the function message answering it is paired by name.
  return [...(calls ?? []), { id: "", name, arguments: parseArguments(raw, `messages[${index}].function_call.arguments`) }];
}

/**
 * Text parts are joined. Image and video parts need a vision model, and no GGUF Hearth can load
 * today has one (node-llama-cpp has no multimodal projector support yet), so they are refused
 * rather than silently dropped.
 */
function textOf(content: ChatMessage["content"] & {}, index: number): string {
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if (part.type === "text") return part.text;
      throw new InvalidRequestError(
        `messages[${index}].content[${j}]: this model does not support ${part.type === "image_url" ? "image" : "video"} input`,
        `messages[${index}].content[${j}]`,
      );
    })
    .join("\n");
}

/** A call's JSON-encoded arguments, parsed; `param` names the field when they are not JSON. */
export function parseArguments(raw: string, param: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidRequestError(`${param} must be a JSON-encoded object`, param);
  }
}

export function completionId(): string {
  return "chatcmpl-" + crypto.randomUUID().replaceAll("-", "").slice(0, 24);
}

export const SYSTEM_FINGERPRINT = "fp_hearth";

export function usageOf(usage: Usage): ChatCompletionT["usage"] {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    // OpenAI reports them as 0 when no prediction was given.
    completion_tokens_details: {
      reasoning_tokens: usage.reasoningTokens,
      accepted_prediction_tokens: usage.acceptedPredictionTokens ?? 0,
      rejected_prediction_tokens: usage.rejectedPredictionTokens ?? 0,
    },
  };
}

type WireFinishReason = ChatCompletionT["choices"][number]["finish_reason"];

function wireFinishReason(reason: FinishReason, calls: CallStyle): WireFinishReason {
  if (reason === "tool_calls") return calls === "functions" ? "function_call" : "tool_calls";
  return reason === "length" ? "length" : "stop";
}

export function logprobsOf(tokens: TokenLogprob[] | undefined): LogprobsT {
  if (!tokens) return null;
  return {
    content: tokens.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top })),
    refusal: null,
  };
}

type Choice = ChatCompletionT["choices"][number];

/** What a response names besides its answer: the conversation it continues (`conversation`), the chunks it was given (`rag_params`). */
export interface CompletionExtras {
  conversation?: { id: string };
  rag_context?: RagContextT;
}

/** A chat.completion put together from engine events as they come: answered whole, or kept once a stream ends. */
class Answer {
  private readonly choices: Choice[] = [];

  constructor(private readonly calls: CallStyle) {}

  add(event: Exclude<EngineEvent, { type: "done" }>): void {
    const choice = (this.choices[event.choice] ??= { index: event.choice, message: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: "stop" });
    const message = choice.message;
    switch (event.type) {
      case "content":
        message.content += event.text;
        // Appended in place: a streamed answer of many thousand tokens is put together as it comes.
        if (event.logprobs) (choice.logprobs ??= { content: [], refusal: null }).content!.push(...logprobsOf(event.logprobs)!.content!);
        break;
      case "reasoning":
        message.reasoning_content = (message.reasoning_content ?? "") + event.text;
        message.reasoning = message.reasoning_content;
        break;
      case "tool_call": {
        const call = { name: event.call.name, arguments: JSON.stringify(event.call.arguments) };
        if (this.calls === "functions") message.function_call = call;
        else (message.tool_calls ??= []).push({ id: event.call.id, type: "function", function: call });
        break;
      }
      case "finish":
        choice.finish_reason = wireFinishReason(event.finishReason, this.calls);
        break;
    }
  }

  completion(head: { id: string; created: number; model: string }, usage: Usage, extras: CompletionExtras): ChatCompletionT {
    return {
      id: head.id,
      object: "chat.completion",
      created: head.created,
      model: head.model,
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: this.choices.map((c) => ((c.message.tool_calls || c.message.function_call) && c.message.content === "" ? { ...c, message: { ...c.message, content: null } } : c)),
      usage: usageOf(usage),
      ...extras,
    };
  }
}

/** `calls`: how the request offered its functions, and so how a call is answered. */
export async function collectCompletion(events: AsyncIterable<EngineEvent>, model: string, calls: CallStyle = "tools", extras: CompletionExtras = {}): Promise<ChatCompletionT> {
  const answer = new Answer(calls);
  for await (const event of events) {
    if (event.type === "done") return answer.completion({ id: completionId(), created: Math.floor(Date.now() / 1000), model }, event.usage, extras);
    answer.add(event);
  }
  throw new Error("generation ended without a done event");
}

/**
 * Engine events → chat.completion.chunk objects, OpenAI's streaming order. Once the stream is
 * whole it returns the chat.completion the chunks added up to, under the same id, for keeping.
 */
export async function* streamChunks(
  events: AsyncIterable<EngineEvent>,
  model: string,
  includeUsage: boolean,
  calls: CallStyle = "tools",
  extras: CompletionExtras = {},
): AsyncGenerator<ChatCompletionChunkT, ChatCompletionT | undefined> {
  const head = { id: completionId(), created: Math.floor(Date.now() / 1000), model };
  // The chunks retrieval gave the model are sent once, with the role, before any content.
  const { rag_context: ragContext, ...everyChunk } = extras;
  const base = { id: head.id, object: "chat.completion.chunk" as const, created: head.created, model, system_fingerprint: SYSTEM_FINGERPRINT, ...everyChunk };
  const answer = new Answer(calls);
  type Delta = ChatCompletionChunkT["choices"][number]["delta"];
  const chunk = (index: number, delta: Delta, extra: { finish?: ChatCompletionChunkT["choices"][number]["finish_reason"]; logprobs?: LogprobsT } = {}): ChatCompletionChunkT => ({
    ...base,
    choices: [{ index, delta, logprobs: extra.logprobs ?? null, finish_reason: extra.finish ?? null }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const started = new Set<number>();
  const toolIndex = new Map<number, number>();
  // The first delta of each choice carries the role.
  const opening = function* (index: number) {
    if (started.has(index)) return;
    started.add(index);
    yield chunk(index, { role: "assistant", content: "" });
  };
  yield ragContext === undefined ? chunk(0, { role: "assistant", content: "" }) : { ...chunk(0, { role: "assistant", content: "" }), rag_context: ragContext };
  started.add(0);
  for await (const event of events) {
    if (event.type === "done") {
      if (includeUsage) yield { ...base, choices: [], usage: usageOf(event.usage) };
      return answer.completion(head, event.usage, extras);
    }
    answer.add(event);
    yield* opening(event.choice);
    switch (event.type) {
      case "content":
        yield chunk(event.choice, { content: event.text }, { logprobs: logprobsOf(event.logprobs) });
        break;
      case "reasoning":
        yield chunk(event.choice, { reasoning_content: event.text, reasoning: event.text });
        break;
      case "tool_call": {
        const args = JSON.stringify(event.call.arguments);
        // OpenAI's legacy order: the name first, then the arguments in pieces (here one).
        if (calls === "functions") {
          yield chunk(event.choice, { function_call: { name: event.call.name, arguments: "" } });
          yield chunk(event.choice, { function_call: { arguments: args } });
          break;
        }
        const index = toolIndex.get(event.choice) ?? 0;
        toolIndex.set(event.choice, index + 1);
        yield chunk(event.choice, {
          tool_calls: [{ index, id: event.call.id, type: "function", function: { name: event.call.name, arguments: args } }],
        });
        break;
      }
      case "finish":
        yield chunk(event.choice, {}, { finish: wireFinishReason(event.finishReason, calls) });
        break;
    }
  }
  return undefined;
}
