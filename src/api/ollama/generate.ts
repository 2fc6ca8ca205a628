import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { TextCompletions, TextCompletionEvent } from "../../engine/text-completion.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { EngineMessage, FinishReason } from "../../engine/types.ts";
import type { ModelInfo } from "../../models/catalog.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OllamaError } from "./errors.ts";
import { GenerateRequest, GenerateResponse, type GenerateRequestT, type GenerateResponseT } from "./generate-schemas.ts";
import { checkCapabilities, createdAt, logprobsOf, requireCompletion, responseFormatOf, statsOf, thinkingOf, topLogprobsOf, type LogprobT } from "./generation.ts";
import { keepAliveMs } from "../../engine/keep-alive.ts";
import { loadOrUnload } from "./lifecycle.ts";
import { ndjsonResponse } from "./ndjson.ts";
import { fromOptions, loadOptionsOf } from "./options.ts";
import { parseTemplate } from "./template.ts";

interface StartedAnswer {
  events: AsyncIterable<TextCompletionEvent>;
  /** the answering model's name: the request's, or the instruct model paired with it when thinking is off */
  model: string;
  /** raw prompts return no context, as in Ollama */
  withContext: boolean;
  topLogprobs?: number;
}

/**
 * A prompt goes through the model's chat template (or a Jinja one from the request) on the chat
 * engine, so thinking is split off as in /api/chat. Raw prompts, fill-in-the-middle and prompts
 * rendered from a Go template are already the model's input: they go to raw text completion.
 */
async function startAnswer(engine: Engine, completions: TextCompletions, body: GenerateRequestT & { prompt: string }, info: ModelInfo, signal: AbortSignal): Promise<StartedAnswer> {
  checkCapabilities(info, body);
  if (body.suffix && !info.capabilities.includes("insert")) throw new InvalidRequestError(`${body.model} does not support insert`, "suffix");
  const options = fromOptions(body.options ?? undefined, info.stored?.parameters);
  const topLogprobs = topLogprobsOf(body);
  const template = body.raw || !body.template ? undefined : parseTemplate(body.template);
  const common = {
    model: body.model,
    sampling: options.sampling,
    stop: options.stop,
    contextLimit: options.contextLimit,
    responseFormat: responseFormatOf(body.format),
    topLogprobs,
    prefix: body.context ?? undefined,
    keepAliveMs: keepAliveMs(body.keep_alive),
    load: options.load,
    signal,
  };
  if (body.raw || body.suffix || template?.kind === "go") {
    const prompt = template?.kind === "go" ? template.render({ System: body.system ?? info.stored?.system ?? "", Prompt: body.prompt }) : body.prompt;
    const started = await completions.start({
      ...common,
      prompts: [prompt],
      suffix: body.suffix || undefined,
      n: 1,
      echo: false,
      maxTokens: options.maxTokens ?? Infinity,
    });
    return { events: started.events, model: body.model, withContext: !body.raw, topLogprobs };
  }
  const messages: EngineMessage[] = [...(body.system ? [{ role: "system" as const, content: body.system }] : []), { role: "user", content: body.prompt }];
  const started = await engine.start({
    ...common,
    messages,
    maxTokens: options.maxTokens,
    tools: [],
    toolChoice: "none",
    parallelToolCalls: false,
    reasoning: thinkingOf(body.think),
    n: 1,
    chatTemplate: template?.kind === "jinja" ? template.template : undefined,
  });
  return { events: started.events, model: started.modelName, withContext: true, topLogprobs };
}

export async function collectGenerate(answer: StartedAnswer): Promise<GenerateResponseT> {
  const model = answer.model;
  let response = "";
  let thinking: string | undefined;
  const logprobs: LogprobT[] = [];
  let finishReason: FinishReason = "stop";
  for await (const event of answer.events) {
    switch (event.type) {
      case "content":
        response += event.text;
        logprobs.push(...logprobsOf(event, answer.topLogprobs));
        break;
      case "reasoning":
        thinking = (thinking ?? "") + event.text;
        break;
      case "finish":
        finishReason = event.finishReason;
        break;
      case "done":
        return {
          model,
          created_at: createdAt(),
          response,
          ...(thinking === undefined ? {} : { thinking }),
          done: true,
          ...(answer.withContext ? { context: event.context } : {}),
          ...statsOf(event, finishReason),
          ...(answer.topLogprobs === undefined ? {} : { logprobs }),
        };
    }
  }
  throw new Error("generation ended without a done event");
}

/** Engine events → Ollama's generate stream: response and thinking as they come, then the statistics and the context. */
export async function* streamGenerate(answer: StartedAnswer): AsyncGenerator<GenerateResponseT> {
  const model = answer.model;
  const chunk = (fields: Partial<GenerateResponseT>): GenerateResponseT => ({ model, created_at: createdAt(), response: "", ...fields, done: false });
  let finishReason: FinishReason = "stop";
  for await (const event of answer.events) {
    switch (event.type) {
      case "content":
        yield chunk({ response: event.text, ...(answer.topLogprobs === undefined ? {} : { logprobs: logprobsOf(event, answer.topLogprobs) }) });
        break;
      case "reasoning":
        yield chunk({ thinking: event.text });
        break;
      case "finish":
        finishReason = event.finishReason;
        break;
      case "done":
        yield {
          model,
          created_at: createdAt(),
          response: "",
          done: true,
          ...(answer.withContext ? { context: event.context } : {}),
          ...statsOf(event, finishReason),
        };
        return;
    }
  }
}

export function generateRoutes(engine: Engine) {
  const completions = engine.completions;
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-generate", detail: { tags: ["Ollama"] } }).post(
    "/api/generate",
    async ({ body, request }) => {
      const info = await engine.catalog.get(body.model);
      requireCompletion(info, body.model, "generate");
      if (!body.prompt) {
        const doneReason = await loadOrUnload(engine, info, { keepAliveMs: keepAliveMs(body.keep_alive), load: loadOptionsOf(body.options ?? undefined, info.stored?.parameters), signal: request.signal });
        return { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: doneReason };
      }
      const answer = await startAnswer(engine, completions, { ...body, prompt: body.prompt }, info, request.signal);
      if (body.stream === false) return collectGenerate(answer);
      // Elysia types a handler by its JSON response schema; a stream is a raw Response instead.
      return ndjsonResponse(streamGenerate(answer)) as never;
    },
    {
      // Ollama reads every body as JSON, whatever its content type: its docs use curl -d, which says form-urlencoded.
      parse: "json",
      body: GenerateRequest,
      response: { 200: GenerateResponse, 400: OllamaError, 404: OllamaError, 503: OllamaError, 507: OllamaError },
      detail: {
        summary: "Generate a response to a prompt",
        description:
          "Ollama-compatible. Streams NDJSON (`application/x-ndjson`) by default; `stream: false` answers with one object. The final object carries " +
          "`context` (pass it back to continue) unless `raw`. Without a prompt the model is only loaded (`done_reason: load`), or with `keep_alive: 0` unloaded (`unload`).",
      },
    },
  );
}
