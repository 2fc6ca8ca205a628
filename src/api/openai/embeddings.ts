import { Elysia, t, type Static } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { EmbeddingResult } from "../../engine/embeddings.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OpenAIError } from "./schemas.ts";

const TokenId = t.Integer({ minimum: 0 });

export const EmbeddingRequest = t.Object(
  {
    input: t.Union(
      [
        t.String(),
        t.Array(t.String(), { minItems: 1, maxItems: 2048 }),
        t.Array(TokenId, { minItems: 1, maxItems: 2048 }),
        t.Array(t.Array(TokenId, { minItems: 1 }), { minItems: 1, maxItems: 2048 }),
      ],
      { description: "A string, strings, token ids, or arrays of token ids; never an empty string, never longer than the model's context" },
    ),
    model: t.String({ description: "A model name from GET /v1/models; any model embeds (decoder models through their final hidden state)" }),
    encoding_format: t.Optional(t.Union([t.Literal("float"), t.Literal("base64")], { description: "base64: the float32 values, little-endian, base64-encoded" })),
    dimensions: t.Optional(
      t.Integer({ minimum: 1, description: "Keep the first `dimensions` components, renormalized to unit length; at most the model's embedding length" }),
    ),
    user: t.Optional(t.String({ description: "Accepted and ignored" })),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type EmbeddingRequestT = Static<typeof EmbeddingRequest>;

export const EmbeddingList = t.Object({
  object: t.Literal("list"),
  data: t.Array(
    t.Object({
      object: t.Literal("embedding"),
      index: t.Integer(),
      embedding: t.Union([t.Array(t.Number()), t.String()], { description: "Unit length (L2); a base64 string with encoding_format base64" }),
    }),
  ),
  model: t.String(),
  usage: t.Object({ prompt_tokens: t.Integer(), total_tokens: t.Integer() }),
});
export type EmbeddingListT = Static<typeof EmbeddingList>;

function inputsOf(input: EmbeddingRequestT["input"]): Array<string | number[]> {
  if (typeof input === "string") return [input];
  // A flat array of numbers is one tokenized input; any other array is a list of inputs.
  if (input.every((i) => typeof i === "number")) return [input as number[]];
  return input as Array<string | number[]>;
}

/** OpenAI's base64 format: the vector as little-endian float32 bytes. */
function toBase64(vector: number[]): string {
  const bytes = new DataView(new ArrayBuffer(vector.length * 4));
  vector.forEach((x, i) => bytes.setFloat32(i * 4, x, true));
  return Buffer.from(bytes.buffer).toString("base64");
}

function toEmbeddingList(result: EmbeddingResult, body: EmbeddingRequestT): EmbeddingListT {
  return {
    object: "list",
    data: result.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: body.encoding_format === "base64" ? toBase64(vector) : vector,
    })),
    model: body.model,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}

export function embeddingsRoutes(engine: Engine) {
  const embeddings = engine.embeddings;
  return new Elysia({ ...ROUTE_CONFIG, name: "openai-embeddings", detail: { tags: ["OpenAI"] } })
    .post(
      "/v1/embeddings",
      async ({ body, request }) => {
        const result = await embeddings.embed({ model: body.model, inputs: inputsOf(body.input), dimensions: body.dimensions, signal: request.signal });
        return toEmbeddingList(result, body);
      },
      {
        // The app reads every body as JSON whatever its content type; "json" says so in the OpenAPI document.
        parse: "json",
        body: EmbeddingRequest,
        response: { 200: EmbeddingList, 400: OpenAIError, 404: OpenAIError, 507: OpenAIError },
        detail: {
          summary: "Create embeddings",
          description:
            "OpenAI-compatible. Vectors are L2-normalized; `dimensions` truncates them and renormalizes (as OpenAI's text-embedding-3 models do). " +
            "Inputs are embedded one after another on the model's own embeddings context and returned in input order.",
        },
      },
    );
}
