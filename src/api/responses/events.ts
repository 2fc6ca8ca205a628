import { randomBytes } from "node:crypto";
import type { EngineEvent, FinishReason, TokenLogprob, Usage } from "../../engine/types.ts";
import type { ClassifiedError } from "../errors.ts";
import { renderOpenAIError } from "../openai/errors.ts";
import type { CreateResponseRequestT, LogProbT, OutputItemT, OutputTextContentT, ResponseObjectT, ResponseUsageT } from "./schemas.ts";
import type { RetrievedChunk } from "../../rag/retrieval.ts";
import { conversationId, ENCRYPTED_REASONING, encodeReasoning, fileSearchTool, functionTools, wantsLogprobs } from "./translate.ts";

/**
 * Engine events → the Responses API's stream events, in OpenAI's order: response.created and
 * response.in_progress; for each output item its output_item.added, its content part opened, the
 * deltas, their .done, the part closed and output_item.done; then response.completed (or
 * response.incomplete when max_output_tokens cut the answer short). A non-streamed request is
 * answered with the response the last event carries, so both ways give the same object.
 */

/**
 * Told the finished response just before its last event goes out (so that a client which sees
 * response.completed finds it stored), and never when generation was cancelled: such an answer is
 * half-written. What it throws ends the response with that failure instead.
 */
export type OnFinished = (response: ResponseObjectT) => void;

/** The file_search tool's run, done before generation: its query and the chunks it found. */
export interface FileSearchRun {
  query: string;
  chunks: RetrievedChunk[];
  /** include: ["file_search_call.results"]: the item carries the chunks */
  includeResults: boolean;
}

type FileSearchCall = Extract<OutputItemT, { type: "file_search_call" }>;
type Reasoning = Extract<OutputItemT, { type: "reasoning" }>;
type Message = Extract<OutputItemT, { type: "message" }>;
type FunctionCall = Extract<OutputItemT, { type: "function_call" }>;

/** A stream event as sent: its type, its sequence number, and the fields of that type. */
export interface ResponseStreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

/** The numbers of one stream's events, shared with its framing, which numbers an error event after a failure. */
export class Sequence {
  private next = 0;

  take(): number {
    return this.next++;
  }
}

export function itemId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

export function responseId(): string {
  return itemId("resp");
}

/** The response as it stands before any output: echoes of the request, the answering model, status in_progress. */
export function initialResponse(body: CreateResponseRequestT, model: string, id = responseId()): ResponseObjectT {
  const format = body.text?.format ?? { type: "text" as const };
  const verbosity = body.text?.verbosity;
  const conversation = conversationId(body);
  return {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status: "in_progress",
    completed_at: null,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
    model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    safety_identifier: body.safety_identifier ?? null,
    service_tier: "default",
    store: body.store ?? true,
    conversation: conversation === undefined ? null : { id: conversation },
    temperature: body.temperature ?? null,
    text: { format, ...(verbosity != null && { verbosity }) },
    tool_choice: body.tool_choice ?? "auto",
    tools: [
      ...fileSearchEcho(body),
      ...functionTools(body).map(({ tool }) => ({
        type: "function" as const,
        name: tool.name,
        description: tool.description ?? null,
        parameters: tool.parameters ?? null,
        strict: tool.strict ?? null,
      })),
    ],
    top_logprobs: body.top_logprobs ?? 0,
    top_p: body.top_p ?? null,
    truncation: body.truncation ?? "disabled",
    ...(body.user !== undefined && { user: body.user }),
    metadata: body.metadata ?? {},
  };
}

/** The file_search tool as OpenAI echoes it, its defaults filled in. */
function fileSearchEcho(body: CreateResponseRequestT): ResponseObjectT["tools"] {
  const tool = fileSearchTool(body);
  if (!tool) return [];
  return [
    {
      type: "file_search",
      vector_store_ids: tool.vector_store_ids,
      max_num_results: tool.max_num_results ?? DEFAULT_FILE_SEARCH_RESULTS,
      filters: tool.filters ?? null,
      ranking_options: { ranker: tool.ranking_options?.ranker ?? "auto", score_threshold: tool.ranking_options?.score_threshold ?? 0 },
    },
  ];
}

/** OpenAI's default for file_search's max_num_results. */
export const DEFAULT_FILE_SEARCH_RESULTS = 10;

export function usageOf(usage: Usage): ResponseUsageT {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens, cache_write_tokens: usage.promptTokens - usage.cachedTokens },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

function logprobsOf(tokens: TokenLogprob[] | undefined): LogProbT[] {
  return (tokens ?? []).map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top }));
}

/** The output item being generated: reasoning or a message, whose text arrives in deltas. */
type Open =
  | { kind: "reasoning"; index: number; item: Reasoning }
  | { kind: "message"; index: number; item: Message; part: OutputTextContentT };

/** The response's stream events, numbered from `sequence`. */
export async function* responseEvents(
  events: AsyncIterable<EngineEvent>,
  body: CreateResponseRequestT,
  model: string,
  sequence: Sequence,
  onFinished?: OnFinished,
  fileSearch?: FileSearchRun,
): AsyncGenerator<ResponseStreamEvent> {
  const response = initialResponse(body, model);
  const output = response.output;
  const encrypted = body.include?.includes(ENCRYPTED_REASONING) ?? false;
  const logprobs = wantsLogprobs(body);
  const event = (type: string, fields: Record<string, unknown>): ResponseStreamEvent => ({ type, sequence_number: sequence.take(), ...fields });
  // Items and responses are copied into events: they change after being sent.
  const copy = <T>(value: T): T => structuredClone(value);
  let open: Open | undefined;
  let finishReason: FinishReason = "stop";

  function* start(kind: Open["kind"]): Generator<ResponseStreamEvent> {
    const index = output.length;
    if (kind === "reasoning") {
      const item: Reasoning = { type: "reasoning", id: itemId("rs"), summary: [], content: [], status: "in_progress" };
      output.push(item);
      open = { kind, index, item };
      yield event("response.output_item.added", { output_index: index, item: copy(item) });
      item.content.push({ type: "reasoning_text", text: "" });
      yield event("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: copy(item.content[0]) });
      return;
    }
    const item: Message = { type: "message", id: itemId("msg"), role: "assistant", status: "in_progress", content: [] };
    output.push(item);
    const part: OutputTextContentT = { type: "output_text", text: "", annotations: [], logprobs: [] };
    open = { kind, index, item, part };
    yield event("response.output_item.added", { output_index: index, item: copy(item) });
    item.content.push(part);
    yield event("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: copy(part) });
  }

  function* close(status: Message["status"]): Generator<ResponseStreamEvent> {
    if (!open) return;
    const { index, item } = open;
    const ids = { item_id: item.id, output_index: index, content_index: 0 };
    if (open.kind === "reasoning") {
      const part = open.item.content[0]!;
      yield event("response.reasoning_text.done", { ...ids, text: part.text });
      yield event("response.content_part.done", { ...ids, part: copy(part) });
      if (encrypted) open.item.encrypted_content = encodeReasoning(part.text);
    } else {
      const part = open.part;
      yield event("response.output_text.done", { ...ids, text: part.text, logprobs: copy(part.logprobs) });
      yield event("response.content_part.done", { ...ids, part: copy(part) });
    }
    item.status = status;
    open = undefined;
    yield event("response.output_item.done", { output_index: index, item: copy(item) });
  }

  function* functionCall(call: { id: string; name: string; arguments: unknown }): Generator<ResponseStreamEvent> {
    const index = output.length;
    const args = JSON.stringify(call.arguments);
    const item: FunctionCall = { type: "function_call", id: itemId("fc"), call_id: call.id, name: call.name, arguments: "", status: "in_progress" };
    output.push(item);
    yield event("response.output_item.added", { output_index: index, item: copy(item) });
    // The engine hands over a call whole, so its arguments come in one delta.
    yield event("response.function_call_arguments.delta", { item_id: item.id, output_index: index, delta: args });
    item.arguments = args;
    yield event("response.function_call_arguments.done", { item_id: item.id, name: item.name, output_index: index, arguments: args });
    item.status = "completed";
    yield event("response.output_item.done", { output_index: index, item: copy(item) });
  }

  /** The search already ran: its item goes first, through the states OpenAI streams it in. */
  function* fileSearchCall(run: FileSearchRun): Generator<ResponseStreamEvent> {
    const index = output.length;
    const item: FileSearchCall = { type: "file_search_call", id: itemId("fs"), status: "in_progress", queries: [run.query], results: null };
    output.push(item);
    const ids = { output_index: index, item_id: item.id };
    yield event("response.output_item.added", { output_index: index, item: copy(item) });
    yield event("response.file_search_call.in_progress", ids);
    item.status = "searching";
    yield event("response.file_search_call.searching", ids);
    item.status = "completed";
    if (run.includeResults) {
      item.results = run.chunks.map((chunk) => ({ file_id: chunk.fileId, filename: chunk.filename, score: chunk.score, text: chunk.text, attributes: chunk.attributes }));
    }
    yield event("response.file_search_call.completed", ids);
    yield event("response.output_item.done", { output_index: index, item: copy(item) });
  }

  yield event("response.created", { response: copy(response) });
  yield event("response.in_progress", { response: copy(response) });
  if (fileSearch) yield* fileSearchCall(fileSearch);
  for await (const engineEvent of events) {
    switch (engineEvent.type) {
      case "reasoning": {
        if (open?.kind !== "reasoning") {
          yield* close("completed");
          yield* start("reasoning");
        }
        const current = open as Extract<Open, { kind: "reasoning" }>;
        current.item.content[0]!.text += engineEvent.text;
        yield event("response.reasoning_text.delta", { item_id: current.item.id, output_index: current.index, content_index: 0, delta: engineEvent.text });
        break;
      }
      case "content": {
        if (open?.kind !== "message") {
          yield* close("completed");
          yield* start("message");
        }
        const current = open as Extract<Open, { kind: "message" }>;
        const tokens = logprobs ? logprobsOf(engineEvent.logprobs) : [];
        current.part.text += engineEvent.text;
        current.part.logprobs.push(...tokens);
        yield event("response.output_text.delta", { item_id: current.item.id, output_index: current.index, content_index: 0, delta: engineEvent.text, logprobs: copy(tokens) });
        break;
      }
      case "tool_call":
        yield* close("completed");
        yield* functionCall(engineEvent.call);
        break;
      case "finish":
        finishReason = engineEvent.finishReason;
        break;
      case "done": {
        const complete = finishReason === "stop" || finishReason === "tool_calls";
        // An answer with nothing in it is still an (empty) message, so that clients find its text.
        if (!open && !output.some((item) => item.type !== "file_search_call")) yield* start("message");
        yield* close(complete ? "completed" : "incomplete");
        response.usage = usageOf(engineEvent.usage);
        if (complete) {
          response.status = "completed";
          response.completed_at = Math.floor(Date.now() / 1000);
        } else {
          // Cut by max_output_tokens (or, when nobody is left to read it, by a cancel).
          response.status = "incomplete";
          response.incomplete_details = finishReason === "length" ? { reason: "max_output_tokens" } : null;
        }
        if (finishReason !== "cancelled") onFinished?.(copy(response));
        yield event(complete ? "response.completed" : "response.incomplete", { response: copy(response) });
        return;
      }
    }
  }
  throw new Error("generation ended without a done event");
}

/** The error event that ends a stream which failed after it began (the status code has gone out). */
export function errorEvent(failure: ClassifiedError, sequence: Sequence): ResponseStreamEvent {
  const { error } = renderOpenAIError(failure);
  return { type: "error", sequence_number: sequence.take(), code: error.code, message: error.message, param: error.param };
}

/** A non-streamed answer: the response the last event carries. */
export async function collectResponse(events: AsyncIterable<EngineEvent>, body: CreateResponseRequestT, model: string, onFinished?: OnFinished, fileSearch?: FileSearchRun): Promise<ResponseObjectT> {
  let last: ResponseStreamEvent | undefined;
  for await (const event of responseEvents(events, body, model, new Sequence(), onFinished, fileSearch)) last = event;
  return last!.response as ResponseObjectT;
}
