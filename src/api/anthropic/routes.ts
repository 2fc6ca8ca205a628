import { Elysia } from "elysia";
import type { Engine, StartedGeneration } from "../../engine/engine.ts";
import { settlesWithin, withHeartbeat } from "../heartbeat.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { SSE_HEADERS, sseEvent, streamResponse } from "../stream.ts";
import { anthropicStreamError, toAnthropicErrorResponse } from "./errors.ts";
import { requestIdOf } from "../../observability/request-id.ts";
import { collectMessage, messageEvents, type StreamEvent } from "./render.ts";
import { AnthropicError, AnthropicMessage, CountTokensRequest, MessagesRequest, TokenCount, type MessagesRequestT } from "./schemas.ts";
import { toGenerationRequest } from "./translate.ts";

/** How long a stream may stay silent (the model loading, the request queued, a long prompt evaluated) before a ping is sent. */
export const PING_INTERVAL_MS = 10_000;

/**
 * Anthropic's Messages API. Requests are translated into the engine's and its events rendered
 * back; the key (`x-api-key` or `Authorization: Bearer`), `anthropic-version`, `anthropic-beta`
 * and the SDK's `?beta=true` are all accepted and not looked at.
 */
export function anthropicRoutes(engine: Engine) {
  const messages = async ({ body, request, set }: { body: MessagesRequestT; request: Request; set: { headers: Record<string, string | number> } }) => {
    const requestId = requestIdOf(request);
    set.headers["request-id"] = requestId;
    const starting = engine.start(toGenerationRequest(body, request.signal));
    if (!body.stream) return collectMessage(messageEvents(await starting));
    // Errors that come quickly (a bad request, an unknown model, a full queue) are HTTP errors. A
    // start that takes longer (a model loading, a place in the queue) is waited for inside the
    // stream, with pings; failing then, it ends the stream with an error event.
    starting.catch(() => undefined);
    const events = (await settlesWithin(starting, PING_INTERVAL_MS)) ? messageEvents(await starting) : startedLater(starting);
    // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
    return sse(withHeartbeat(events, PING_INTERVAL_MS, () => ({ type: "ping" }) as const), requestId) as never;
  };

  return new Elysia({ ...ROUTE_CONFIG, name: "anthropic", detail: { tags: ["Anthropic"] } })
    .onError(({ code, error, request }) => toAnthropicErrorResponse(code, error, request))
    .post("/v1/messages", messages, {
      parse: "json",
      body: MessagesRequest,
      response: { 200: AnthropicMessage, 400: AnthropicError, 404: AnthropicError, 413: AnthropicError, 529: AnthropicError, 507: AnthropicError },
      detail: {
        summary: "Create a message",
        description:
          "Anthropic-compatible (Claude Code: `ANTHROPIC_BASE_URL=http://host:port`). With `stream: true` the answer is a `text/event-stream` of named events: " +
          "`message_start` (with usage), per content block `content_block_start` / `content_block_delta` (`text_delta`, `thinking_delta`, `signature_delta`, `input_json_delta`) / `content_block_stop`, " +
          "`message_delta` (stop_reason, stop_sequence, usage), `message_stop`; `ping` events while nothing else is sent, and `error` if generation fails once the stream has begun. " +
          "Prompt tokens reused from the cache are reported as `cache_read_input_tokens`, not in `input_tokens`. A full queue is a 529 `overloaded_error` with `retry-after`.",
      },
    })
    .post(
      "/v1/messages/count_tokens",
      async ({ body, request, set }) => {
        set.headers["request-id"] = requestIdOf(request);
        const { promptTokens } = await engine.countTokens(toGenerationRequest(body, request.signal));
        return { input_tokens: promptTokens };
      },
      {
        parse: "json",
        body: CountTokensRequest,
        response: { 200: TokenCount, 400: AnthropicError, 404: AnthropicError, 413: AnthropicError, 507: AnthropicError },
        detail: {
          summary: "Count a message's input tokens",
          description:
            "The number of prompt tokens the same POST /v1/messages request has, rendered with the model's chat template, system prompt and tools (loading the model if needed, generating nothing): " +
            "exactly its `input_tokens + cache_read_input_tokens`. `max_tokens` is not required.",
        },
      },
    );
}

/**
 * The stream of a generation that has not started yet: a ping at once (the client has waited a
 * ping interval already), then its events once it has started, or its failure as the stream's error.
 */
async function* startedLater(starting: Promise<StartedGeneration>): AsyncGenerator<StreamEvent> {
  yield { type: "ping" };
  yield* messageEvents(await starting);
}

/** Anthropic's SSE framing: every event named by an `event:` line; no end marker; a failure is a last `event: error`. */
function sse(events: AsyncIterator<StreamEvent>, requestId: string): Response {
  return streamResponse(events, {
    headers: { ...SSE_HEADERS, "request-id": requestId },
    value: (event) => sseEvent(event.type, event),
    error: (err) => anthropicStreamError(err, requestId),
  });
}
