import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import type { RankingResult } from "../../engine/ranking.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { RerankRequest, RerankResponse, type RerankRequestT, type RerankResponseT } from "./schemas.ts";

function toRerankResponse(body: RerankRequestT, texts: string[], result: RankingResult): RerankResponseT {
  // Array.prototype.sort is stable: equal scores keep document order.
  const ranked = result.scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score);
  return {
    model: body.model,
    object: "list",
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    results: ranked.slice(0, body.top_n ?? ranked.length).map(({ index, score }) => ({
      index,
      relevance_score: score,
      ...(body.return_documents ? { document: { text: texts[index]! } } : {}),
    })),
  };
}

/**
 * Reranking in the shape llama.cpp's server, vLLM and Jina serve (Cohere's request, too), at the
 * paths llama.cpp's server answers it on. Errors are OpenAI's shape, as on llama.cpp's server.
 */
export function rerankRoutes(engine: Engine) {
  const rerank = async ({ body, request }: { body: RerankRequestT; request: Request }) => {
    const texts = body.documents.map((document) => (typeof document === "string" ? document : document.text));
    const result = await engine.ranking.rank({ model: body.model, query: body.query, documents: texts, signal: request.signal });
    return toRerankResponse(body, texts, result);
  };
  const schema = {
    // The app reads every body as JSON whatever its content type; "json" says so in the OpenAPI document.
    parse: "json" as const,
    body: RerankRequest,
    response: { 200: RerankResponse, 400: OpenAIError, 404: OpenAIError, 507: OpenAIError },
  };
  const alias = { ...schema, detail: { summary: "Rerank documents (alias of /v1/rerank, as on llama.cpp's server)" } };
  return new Elysia({ ...ROUTE_CONFIG, name: "rerank", detail: { tags: ["llama.cpp"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post("/v1/rerank", rerank, {
      ...schema,
      detail: {
        summary: "Rerank documents",
        description:
          "llama.cpp-, vLLM- and Jina-compatible: scores each document against the query with a reranker (capability `rerank`) and returns them most relevant first, " +
          "`top_n` of them if given. Documents are evaluated one after another on the model's own ranking context.",
      },
    })
    .post("/v1/reranking", rerank, alias)
    .post("/rerank", rerank, alias)
    .post("/reranking", rerank, alias);
}
