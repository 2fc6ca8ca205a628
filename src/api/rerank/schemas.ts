import { t, type Static } from "elysia";

const Document = t.Union([t.String(), t.Object({ text: t.String() }, { description: "Cohere's and Jina's object form" })], {
  description: "A document's text, or an object holding it in `text`",
});

export const RerankRequest = t.Object(
  {
    model: t.String({ description: "A reranker from GET /v1/models (capability `rerank`): a model with a classification head, such as bge-reranker or Qwen3-Reranker" }),
    query: t.String({ minLength: 1, description: "What the documents are scored against" }),
    documents: t.Array(Document, { minItems: 1, description: "The documents to score; each is evaluated with the query, so query and document must fit in the model's context together" }),
    top_n: t.Optional(t.Integer({ minimum: 1, description: "Return only the `top_n` most relevant results; default: all of them" })),
    return_documents: t.Optional(t.Boolean({ default: false, description: "Add each result's document as `document: {text}`" })),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type RerankRequestT = Static<typeof RerankRequest>;

export const RerankResponse = t.Object({
  model: t.String(),
  object: t.Literal("list"),
  usage: t.Object({
    prompt_tokens: t.Integer({ description: "Tokens evaluated: every document with the query (and the model's rerank template)" }),
    total_tokens: t.Integer(),
  }),
  results: t.Array(
    t.Object({
      index: t.Integer({ description: "The document's position in `documents`" }),
      relevance_score: t.Number({ minimum: 0, maximum: 1, description: "The model's probability that the document is relevant to the query" }),
      document: t.Optional(t.Object({ text: t.String() }, { description: "With `return_documents`" })),
    }),
    { description: "Most relevant first (ties in document order), at most `top_n`" },
  ),
});
export type RerankResponseT = Static<typeof RerankResponse>;
