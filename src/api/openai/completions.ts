import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { StartedTextCompletion, TextCompletionEvent, TextCompletionRequest, TextPrompt } from "../../engine/text-completion.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { FinishReason, Usage } from "../../engine/types.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { Completion, CompletionRequest, type CompletionRequestT, type CompletionT, type CompletionUsageT, type LegacyLogprobsT } from "./completions-schemas.ts";
import { OpenAIError } from "./schemas.ts";
import { sseResponse } from "./sse.ts";
import { SYSTEM_FINGERPRINT } from "./translate.ts";

/** OpenAI's default for the legacy endpoint. */
const DEFAULT_MAX_TOKENS = 16;

export function toTextCompletionRequest(body: CompletionRequestT, signal?: AbortSignal): TextCompletionRequest {
  // Ranking candidates by likelihood would mean generating best_of and dropping some; Hearth returns every one it generates.
  if (body.best_of != null && body.best_of > (body.n ?? 1)) {
    throw new InvalidRequestError("best_of greater than n is not supported: every generated completion is returned, so ask for n instead", "best_of");
  }
  return {
    model: body.model,
    prompts: promptsOf(body.prompt),
    // An empty suffix means nothing follows: a plain completion.
    suffix: body.suffix || undefined,
    n: body.n ?? 1,
    echo: body.echo ?? false,
    maxTokens: body.max_tokens ?? DEFAULT_MAX_TOKENS,
    stop: body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop,
    // OpenAI's defaults (temperature 1, top_p 1, no top-k), not node-llama-cpp's (greedy, top-k 40, top-p 0.95).
    sampling: {
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      topK: 0,
      seed: body.seed ?? undefined,
      presencePenalty: body.presence_penalty ?? undefined,
      frequencyPenalty: body.frequency_penalty ?? undefined,
      logitBias: body.logit_bias ? Object.fromEntries(Object.entries(body.logit_bias).map(([id, bias]) => [Number(id), bias])) : undefined,
    },
    topLogprobs: body.logprobs ?? undefined,
    signal,
  };
}

function promptsOf(prompt: CompletionRequestT["prompt"]): TextPrompt[] {
  if (prompt === null) return [""];
  if (typeof prompt === "string") return [prompt];
  // A flat array of numbers is one tokenized prompt; any other array is a list of prompts.
  if (prompt.every((p) => typeof p === "number")) return [prompt as number[]];
  return prompt as TextPrompt[];
}

function completionId(): string {
  return "cmpl-" + crypto.randomUUID().replaceAll("-", "").slice(0, 24);
}

function usageOf(usage: Usage): CompletionUsageT {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
  };
}

function wireFinishReason(reason: FinishReason): "stop" | "length" {
  return reason === "length" ? "length" : "stop";
}

/**
 * Tracks each choice's text so far: OpenAI's legacy text_offset counts from the start of prompt +
 * text, so without echo a choice's offsets begin after its prompt.
 */
class ChoiceTexts {
  private lengths: number[];

  constructor(started: StartedTextCompletion, n: number, echo: boolean) {
    const choices = started.promptTexts.length * n;
    this.lengths = Array.from({ length: choices }, (_, i) => (echo ? 0 : started.promptTexts[Math.floor(i / n)]!.length));
  }

  get count(): number {
    return this.lengths.length;
  }

  /** Records a content event; returns its logprobs in the legacy shape (null when none were asked for). */
  append(event: Extract<TextCompletionEvent, { type: "content" }>): LegacyLogprobsT | null {
    let offset = this.lengths[event.choice]!;
    this.lengths[event.choice] = offset + event.text.length;
    if (!event.logprobs) return null;
    const result: LegacyLogprobsT = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    for (const entry of event.logprobs) {
      result.tokens.push(entry.token);
      result.token_logprobs.push(entry.logprob);
      // "up to logprobs + 1" entries: the alternatives and always the token that was chosen
      result.top_logprobs.push(entry.top && { ...Object.fromEntries(entry.top.map((alt) => [alt.token, alt.logprob])), [entry.token]: entry.logprob });
      result.text_offset.push(offset);
      offset += entry.token.length;
    }
    return result;
  }
}

function mergeLogprobs(into: LegacyLogprobsT, more: LegacyLogprobsT): void {
  into.tokens.push(...more.tokens);
  into.token_logprobs.push(...more.token_logprobs);
  into.top_logprobs.push(...more.top_logprobs);
  into.text_offset.push(...more.text_offset);
}

export async function collectTextCompletion(started: StartedTextCompletion, request: TextCompletionRequest): Promise<CompletionT> {
  const texts = new ChoiceTexts(started, request.n, request.echo);
  const choices: CompletionT["choices"] = Array.from({ length: texts.count }, (_, index) => ({
    text: "",
    index,
    logprobs: request.topLogprobs === undefined ? null : { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] },
    finish_reason: "stop",
  }));
  for await (const event of started.events) {
    switch (event.type) {
      case "content": {
        const choice = choices[event.choice]!;
        const logprobs = texts.append(event);
        choice.text += event.text;
        if (logprobs && choice.logprobs) mergeLogprobs(choice.logprobs, logprobs);
        break;
      }
      case "finish":
        choices[event.choice]!.finish_reason = wireFinishReason(event.finishReason);
        break;
      case "done":
        return {
          id: completionId(),
          object: "text_completion",
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          system_fingerprint: SYSTEM_FINGERPRINT,
          choices,
          usage: usageOf(event.usage),
        };
    }
  }
  throw new Error("text completion ended without a done event");
}

/** Engine events → text_completion stream objects; each choice ends with an empty text carrying its finish_reason. */
export async function* streamTextCompletion(started: StartedTextCompletion, request: TextCompletionRequest, includeUsage: boolean): AsyncGenerator<CompletionT> {
  const texts = new ChoiceTexts(started, request.n, request.echo);
  const base = { id: completionId(), object: "text_completion" as const, created: Math.floor(Date.now() / 1000), model: request.model, system_fingerprint: SYSTEM_FINGERPRINT };
  const chunk = (choice: CompletionT["choices"][number]): CompletionT => ({ ...base, choices: [choice], ...(includeUsage ? { usage: null } : {}) });
  for await (const event of started.events) {
    switch (event.type) {
      case "content":
        yield chunk({ text: event.text, index: event.choice, logprobs: texts.append(event), finish_reason: null });
        break;
      case "finish":
        yield chunk({ text: "", index: event.choice, logprobs: null, finish_reason: wireFinishReason(event.finishReason) });
        break;
      case "done":
        if (includeUsage) yield { ...base, choices: [], usage: usageOf(event.usage) };
        return;
    }
  }
}

export function completionsRoutes(engine: Engine) {
  const completions = engine.completions;
  return new Elysia({ ...ROUTE_CONFIG, name: "openai-completions", detail: { tags: ["OpenAI"] } })
    .post(
      "/v1/completions",
      async ({ body, request }) => {
        const textRequest = toTextCompletionRequest(body, request.signal);
        const started = await completions.start(textRequest);
        // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
        if (body.stream) return sseResponse(streamTextCompletion(started, textRequest, body.stream_options?.include_usage === true)) as never;
        return collectTextCompletion(started, textRequest);
      },
      {
        // The app reads every body as JSON whatever its content type; "json" says so in the OpenAPI document.
        parse: "json",
        body: CompletionRequest,
        response: { 200: Completion, 400: OpenAIError, 404: OpenAIError, 503: OpenAIError, 507: OpenAIError },
        detail: {
          summary: "Create a text completion (legacy)",
          description:
            "OpenAI-compatible legacy completions: the raw prompt continued, without a chat template. Defaults follow OpenAI: " +
            "max_tokens 16, temperature 1, top_p 1. `suffix` (fill-in-the-middle) needs a model with the `insert` capability. " +
            "With `stream: true` the answer is a `text/event-stream` of text_completion objects ending in `data: [DONE]`.",
        },
      },
    );
}
