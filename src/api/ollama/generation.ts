import { t, type Static } from "elysia";
import type { TextCompletionEvent } from "../../engine/text-completion.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { FinishReason, ResponseFormat } from "../../engine/types.ts";
import type { ModelInfo } from "../../models/catalog.ts";
import { Options } from "./options.ts";

/** Fields /api/chat and /api/generate share, with the same meaning in both. */
export const SharedFields = {
  model: t.String({ description: "A model name from GET /api/tags" }),
  format: t.Optional(
    t.Nullable(
      t.Union([t.Literal("json"), t.Literal(""), t.Record(t.String(), t.Unknown())], {
        description: '"json" for any JSON value, or a JSON schema the answer must match (grammar-enforced); "" is free text',
      }),
    ),
  ),
  stream: t.Optional(t.Nullable(t.Boolean({ description: "Default true: NDJSON (application/x-ndjson), one object per line; false: one JSON object" }))),
  think: t.Optional(
    t.Nullable(
      t.Union([t.Boolean(), t.Literal("low"), t.Literal("medium"), t.Literal("high"), t.Literal("max")], {
        description: "Thinking models: true or a level thinks first (levels cannot be told apart and all mean on), false answers directly; default: the model's own",
      }),
    ),
  ),
  keep_alive: t.Optional(
    t.Nullable(
      t.Union([t.String(), t.Number()], {
        description: 'How long the model stays loaded after this request: a duration ("5m", "1h30m", "10s") or seconds; negative: forever; 0: unload now. Default 5m',
      }),
    ),
  ),
  options: t.Optional(t.Nullable(Options)),
  logprobs: t.Optional(t.Nullable(t.Boolean({ description: "Return each answer token's log probability" }))),
  top_logprobs: t.Optional(t.Nullable(t.Integer({ minimum: 0, maximum: 20, description: "With logprobs: that many most likely alternatives per token" }))),
};

type SharedBody = { [K in keyof typeof SharedFields]?: Static<(typeof SharedFields)[K]> };

const TokenLogprob = t.Object({ token: t.String(), logprob: t.Number(), bytes: t.Array(t.Integer()) });
export const Logprob = t.Composite([TokenLogprob, t.Object({ top_logprobs: t.Optional(t.Array(TokenLogprob)) })]);
export type LogprobT = Static<typeof Logprob>;

/** The statistics of a final object; durations are measured, in nanoseconds. */
export const Stats = {
  done_reason: t.Optional(t.Union([t.Literal("stop"), t.Literal("length"), t.Literal("load"), t.Literal("unload")])),
  total_duration: t.Optional(t.Integer({ description: "Nanoseconds from receiving the request to the last token" })),
  load_duration: t.Optional(t.Integer({ description: "Nanoseconds spent loading the model and waiting for a free sequence" })),
  prompt_eval_count: t.Optional(t.Integer({ description: "Tokens in the prompt, cached ones included" })),
  prompt_eval_duration: t.Optional(t.Integer()),
  eval_count: t.Optional(t.Integer({ description: "Tokens generated, thinking included" })),
  eval_duration: t.Optional(t.Integer()),
  logprobs: t.Optional(t.Array(Logprob)),
};

export type DoneEvent = Extract<TextCompletionEvent, { type: "done" }>;
export type ContentEvent = Extract<TextCompletionEvent, { type: "content" }>;

/** RFC 3339 with fractional seconds, as Ollama's created_at. */
export function createdAt(): string {
  return new Date().toISOString();
}

export function statsOf(done: DoneEvent, finishReason: FinishReason) {
  return {
    done_reason: finishReason === "length" ? ("length" as const) : ("stop" as const),
    total_duration: done.timings.totalNs,
    load_duration: done.timings.loadNs,
    prompt_eval_count: done.usage.promptTokens,
    prompt_eval_duration: done.timings.promptEvalNs,
    eval_count: done.usage.completionTokens,
    eval_duration: done.timings.evalNs,
  };
}

/** Ollama's per-token logprobs; top_logprobs only when alternatives were asked for. */
export function logprobsOf(event: ContentEvent, top: number | undefined): LogprobT[] {
  // Unscored tokens only exist in echoed prompts, which Ollama never asks for.
  return (event.logprobs ?? []).flatMap((entry) =>
    entry.logprob === null
      ? []
      : [{ token: entry.token, logprob: entry.logprob, bytes: entry.bytes, ...(top ? { top_logprobs: entry.top ?? [] } : {}) }],
  );
}

/** Checked before anything else, even before only loading the model, as Ollama does. */
export function requireCompletion(info: ModelInfo, name: string, endpoint: "chat" | "generate"): void {
  if (!info.capabilities.includes("completion")) throw new InvalidRequestError(`${name} does not support ${endpoint}`, "model");
}

/** The capability checks Ollama makes before it generates, with its wording (only thinking quotes the name). */
export function checkCapabilities(info: ModelInfo, body: SharedBody & { images?: unknown[] | null }): void {
  const name = body.model!;
  if (thinkingOf(body.think) === true && !info.capabilities.includes("thinking")) throw new InvalidRequestError(`"${name}" does not support thinking`, "think");
  // No GGUF Hearth loads has a vision projector (node-llama-cpp cannot load one yet).
  if (body.images?.length && !info.capabilities.includes("vision")) throw new InvalidRequestError(`${name} does not support image input`, "images");
}

export function thinkingOf(think: SharedBody["think"]): boolean | undefined {
  if (think === undefined || think === null) return undefined;
  return think !== false;
}

export function responseFormatOf(format: SharedBody["format"]): ResponseFormat {
  if (format === undefined || format === null || format === "") return { type: "text" };
  return format === "json" ? { type: "json", param: "format" } : { type: "json", schema: format, param: "format" };
}

export function topLogprobsOf(body: SharedBody): number | undefined {
  if (body.top_logprobs && !body.logprobs) throw new InvalidRequestError("top_logprobs requires logprobs to be true", "top_logprobs");
  return body.logprobs ? (body.top_logprobs ?? 0) : undefined;
}
