import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { Library } from "../../rag/library.ts";
import { withRetrievedContext } from "../../rag/retrieval.ts";
import { ragContext, retrievalFor, type RagContextT } from "../rag-params.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { EngineEvent, EngineMessage, FinishReason, GenerationRequest } from "../../engine/types.ts";
import type { ModelInfo } from "../../models/catalog.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { ChatRequest, ChatResponse, type ChatMessageT, type ChatRequestT, type ChatResponseT, type ToolCallT } from "./chat-schemas.ts";
import { OllamaError } from "./errors.ts";
import { checkCapabilities, createdAt, requireCompletion, logprobsOf, responseFormatOf, statsOf, thinkingOf, topLogprobsOf, type LogprobT } from "./generation.ts";
import { keepAliveMs } from "../../engine/keep-alive.ts";
import { loadOrUnload } from "./lifecycle.ts";
import { ndjsonResponse } from "./ndjson.ts";
import { fromOptions, loadOptionsOf } from "./options.ts";

export function toGenerationRequest(body: ChatRequestT, info: ModelInfo, signal?: AbortSignal): GenerationRequest {
  checkCapabilities(info, { ...body, images: body.messages?.flatMap((m) => m.images ?? []) });
  const tools = body.tools ?? [];
  if (tools.length > 0 && !info.capabilities.includes("tools")) throw new InvalidRequestError(`${body.model} does not support tools`, "tools");
  const responseFormat = responseFormatOf(body.format);
  if (tools.length > 0 && responseFormat.type !== "text") throw new InvalidRequestError("format cannot be combined with tools", "format");
  const options = fromOptions(body.options ?? undefined, info.stored?.parameters);
  return {
    model: body.model,
    messages: (body.messages ?? []).map(toEngineMessage),
    sampling: options.sampling,
    maxTokens: options.maxTokens,
    contextLimit: options.contextLimit,
    stop: options.stop,
    tools: tools.map((tool) => ({ name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters })),
    toolChoice: "auto",
    parallelToolCalls: true,
    responseFormat,
    reasoning: thinkingOf(body.think),
    n: 1,
    topLogprobs: topLogprobsOf(body),
    keepAliveMs: keepAliveMs(body.keep_alive),
    load: options.load,
    signal,
  };
}

function toEngineMessage(message: ChatMessageT): EngineMessage {
  const content = message.content ?? "";
  switch (message.role) {
    case "system":
    case "user":
      return { role: message.role, content };
    case "assistant":
      return {
        role: "assistant",
        content,
        reasoning: message.thinking,
        // Ollama's clients send calls back without the id they were given; tool_name then pairs the result.
        toolCalls: message.tool_calls?.map((call) => ({ id: call.id ?? "", name: call.function.name, arguments: call.function.arguments })),
      };
    case "tool":
      return { role: "tool", content, toolCallId: message.tool_call_id, name: message.tool_name };
  }
}

function toolCallOf(event: Extract<EngineEvent, { type: "tool_call" }>, index: number): ToolCallT {
  return { id: event.call.id, function: { index, name: event.call.name, arguments: event.call.arguments as ToolCallT["function"]["arguments"] } };
}

export async function collectChat(events: AsyncIterable<EngineEvent>, model: string, top: number | undefined, ragContext?: RagContextT): Promise<ChatResponseT> {
  const message: ChatResponseT["message"] = { role: "assistant", content: "" };
  const logprobs: LogprobT[] = [];
  let finishReason: FinishReason = "stop";
  for await (const event of events) {
    switch (event.type) {
      case "content":
        message.content += event.text;
        logprobs.push(...logprobsOf(event, top));
        break;
      case "reasoning":
        message.thinking = (message.thinking ?? "") + event.text;
        break;
      case "tool_call":
        (message.tool_calls ??= []).push(toolCallOf(event, message.tool_calls.length));
        break;
      case "finish":
        finishReason = event.finishReason;
        break;
      case "done":
        return { model, created_at: createdAt(), message, done: true, ...statsOf(event, finishReason), ...(top === undefined ? {} : { logprobs }), ...(ragContext && { rag_context: ragContext }) };
    }
  }
  throw new Error("generation ended without a done event");
}

/** Engine events → Ollama's chat stream: content, thinking and tool calls as they come, then the statistics. */
export async function* streamChat(events: AsyncIterable<EngineEvent>, model: string, top: number | undefined, ragContext?: RagContextT): AsyncGenerator<ChatResponseT> {
  const chunk = (message: Partial<ChatResponseT["message"]>, logprobs?: LogprobT[]): ChatResponseT => ({
    model,
    created_at: createdAt(),
    message: { role: "assistant", content: "", ...message },
    done: false,
    ...(logprobs ? { logprobs } : {}),
  });
  let calls = 0;
  let finishReason: FinishReason = "stop";
  // The chunks retrieval gave the model, on a line of their own before the answer.
  if (ragContext) yield { ...chunk({}), rag_context: ragContext };
  for await (const event of events) {
    switch (event.type) {
      case "content":
        yield chunk({ content: event.text }, top === undefined ? undefined : logprobsOf(event, top));
        break;
      case "reasoning":
        yield chunk({ thinking: event.text });
        break;
      case "tool_call":
        yield chunk({ tool_calls: [toolCallOf(event, calls++)] });
        break;
      case "finish":
        finishReason = event.finishReason;
        break;
      case "done":
        yield { model, created_at: createdAt(), message: { role: "assistant", content: "" }, done: true, ...statsOf(event, finishReason) };
        return;
    }
  }
}

/** `library`: the vector stores `rag_params` searches. */
export function chatRoutes(engine: Engine, library: Library) {
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-chat", detail: { tags: ["Ollama"] } }).post(
    "/api/chat",
    async ({ body, request }) => {
      const info = await engine.catalog.get(body.model);
      requireCompletion(info, body.model, "chat");
      if (!body.messages?.length) {
        const doneReason = await loadOrUnload(engine, info, { keepAliveMs: keepAliveMs(body.keep_alive), load: loadOptionsOf(body.options ?? undefined, info.stored?.parameters), signal: request.signal });
        return { model: body.model, created_at: createdAt(), message: { role: "assistant" as const, content: "" }, done: true, done_reason: doneReason };
      }
      const generation = toGenerationRequest(body, info, request.signal);
      const retrieved = await retrievalFor(library, engine, request, body.rag_params, generation.messages);
      const { events, modelName } = await engine.start(retrieved ? { ...generation, messages: withRetrievedContext(generation.messages, retrieved) } : generation);
      const context = retrieved && ragContext(retrieved);
      if (body.stream === false) return collectChat(events, modelName, generation.topLogprobs, context);
      // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
      return ndjsonResponse(streamChat(events, modelName, generation.topLogprobs, context)) as never;
    },
    {
      // Ollama reads every body as JSON, whatever its content type: its docs use curl -d, which says form-urlencoded.
      parse: "json",
      body: ChatRequest,
      response: { 200: ChatResponse, 400: OllamaError, 404: OllamaError, 503: OllamaError, 507: OllamaError },
      detail: {
        summary: "Chat with a model",
        description:
          "Ollama-compatible. Streams NDJSON (`application/x-ndjson`) by default; `stream: false` answers with one object. " +
          "Thinking arrives in `message.thinking`, tool calls in `message.tool_calls` with object arguments. " +
          "Without messages the model is only loaded (`done_reason: load`), or with `keep_alive: 0` unloaded (`unload`).",
      },
    },
  );
}
