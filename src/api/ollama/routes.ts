import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { ROUTE_CONFIG } from "../../server/elysia-config.ts";
import { toOllamaErrorResponse } from "./errors.ts";

/** Ollama's native API (docs/api.md), a second adapter over the same engine. */
export function ollamaRoutes(engine: Engine) {
  void engine;
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama", detail: { tags: ["Ollama"] } }).onError(({ code, error }) => toOllamaErrorResponse(code, error));
}
