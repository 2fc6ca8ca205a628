import { Elysia, t, type Static } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OllamaError } from "./errors.ts";
import { SharedFields } from "./generation.ts";
import { keepAliveMs } from "../../engine/keep-alive.ts";
import { loadOptionsOf } from "./options.ts";

const EmbedRequest = t.Object(
  {
    model: SharedFields.model,
    input: t.Optional(
      t.Union([t.String(), t.Array(t.String())], {
        description: 'Text or a list of texts. "" or [] embeds nothing and only loads the model; an empty string inside a list is a 400',
      }),
    ),
    truncate: t.Optional(
      t.Boolean({ description: "Default true: an input longer than the context is cut at the end to fit; false: such an input is a 400" }),
    ),
    dimensions: t.Optional(
      t.Integer({ minimum: 0, description: "Keep the first `dimensions` components, renormalized to unit length; 0: all; more than the model has is a 400" }),
    ),
    keep_alive: SharedFields.keep_alive,
    options: SharedFields.options,
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
type EmbedRequestT = Static<typeof EmbedRequest>;

const EmbedResponse = t.Object({
  model: t.String({ description: "The model as the request named it" }),
  embeddings: t.Array(t.Array(t.Number()), { description: "One unit-length (L2) vector per input, in input order" }),
  total_duration: t.Integer({ description: "Nanoseconds for the whole request" }),
  load_duration: t.Integer({ description: "Nanoseconds until the model was ready to embed (0-ish when it was loaded)" }),
  prompt_eval_count: t.Integer({ description: "Tokens embedded, after truncation" }),
});

const EmbeddingsRequest = t.Object(
  {
    model: SharedFields.model,
    prompt: t.Optional(t.String({ description: 'The text to embed; "" only loads the model' })),
    keep_alive: SharedFields.keep_alive,
    options: SharedFields.options,
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);

const EmbeddingsResponse = t.Object({
  embedding: t.Array(t.Number(), { description: "The model's raw vector, not normalized (as Ollama's legacy endpoint returns it)" }),
});

function inputsOf(input: EmbedRequestT["input"]): string[] {
  if (input === undefined || input === "") return [];
  return typeof input === "string" ? [input] : input;
}

export function embedRoutes(engine: Engine) {
  const embeddings = engine.embeddings;
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-embed", detail: { tags: ["Ollama"] } })
    .post(
      "/api/embed",
      async ({ body, request }) => {
        const result = await embeddings.embed({
          model: body.model,
          inputs: inputsOf(body.input),
          dimensions: body.dimensions || undefined,
          truncate: body.truncate ?? true,
          contextLimit: body.options?.num_ctx,
          keepAliveMs: keepAliveMs(body.keep_alive),
          load: loadOptionsOf(body.options ?? undefined),
          signal: request.signal,
        });
        return {
          model: body.model,
          embeddings: result.vectors,
          total_duration: result.totalNs,
          load_duration: result.loadNs,
          prompt_eval_count: result.promptTokens,
        };
      },
      {
        // Ollama reads every body as JSON, whatever its content type: its docs use curl -d, which says form-urlencoded.
        parse: "json",
        body: EmbedRequest,
        response: { 200: EmbedResponse, 400: OllamaError, 404: OllamaError, 507: OllamaError },
        detail: {
          summary: "Generate embeddings",
          description:
            "Ollama-compatible. Vectors are L2-normalized; inputs are embedded one after another on the model's own embeddings context. " +
            "Any model embeds: decoder models through their final hidden state. Of the options only num_ctx (it lowers the tokens an input may use) and the load options act on embeddings.",
        },
      },
    )
    .post(
      "/api/embeddings",
      async ({ body, request }) => {
        const result = await embeddings.embed({
          model: body.model,
          inputs: body.prompt ? [body.prompt] : [],
          field: "prompt",
          normalize: false,
          contextLimit: body.options?.num_ctx,
          keepAliveMs: keepAliveMs(body.keep_alive),
          load: loadOptionsOf(body.options ?? undefined),
          signal: request.signal,
        });
        return { embedding: result.vectors[0] ?? [] };
      },
      {
        parse: "json",
        body: EmbeddingsRequest,
        response: { 200: EmbeddingsResponse, 400: OllamaError, 404: OllamaError, 507: OllamaError },
        detail: {
          summary: "Generate an embedding (legacy, superseded by /api/embed)",
          description: "Ollama-compatible. A prompt longer than the context is a 400, never truncated; of the options only num_ctx and the load options act.",
        },
      },
    );
}
