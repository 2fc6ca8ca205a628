import { afterEach, expect, spyOn, test } from "bun:test";
import { classifyError } from "../../src/api/errors.ts";
import { renderOllamaError, toOllamaErrorResponse } from "../../src/api/ollama/errors.ts";
import { renderOpenAIError, toOpenAIErrorResponse } from "../../src/api/openai/errors.ts";
import { CancelledError, InsufficientMemoryError, InvalidRequestError, ModelNotFoundError, RouteNotFoundError, ServerBusyError } from "../../src/errors.ts";
import { RegistryError } from "../../src/registry/client.ts";

const quiet = spyOn(console, "error").mockImplementation(() => undefined);
afterEach(() => quiet.mockClear());

test("each failure gets one kind and status, whichever API answers it", () => {
  const cases: Array<[unknown, string, number]> = [
    [new InvalidRequestError("bad", "temperature", "out_of_range"), "invalid", 400],
    [new ModelNotFoundError("nope"), "model_not_found", 404],
    [new RouteNotFoundError(), "route_not_found", 404],
    [new ServerBusyError(3), "busy", 503],
    [new InsufficientMemoryError("too big"), "memory", 507],
    [new CancelledError(), "cancelled", 499],
    [new RegistryError("unauthorized", 401), "registry", 401],
    [new Error("boom"), "internal", 500],
  ];
  for (const [error, kind, status] of cases) expect(classifyError("UNKNOWN", error)).toMatchObject({ kind, status });
  expect(classifyError("PARSE", new Error("x"))).toEqual({ kind: "malformed", status: 400, message: undefined });
  expect(classifyError("UNKNOWN", new ServerBusyError(3)).headers).toEqual({ "retry-after": "3" });
});

test("an internal error is logged once, and its details reach no client", () => {
  const failure = classifyError("UNKNOWN", new Error("secret detail"));
  expect(quiet).toHaveBeenCalledTimes(1);
  expect(JSON.stringify([renderOpenAIError(failure), renderOllamaError(failure)])).not.toContain("secret");
  expect(quiet).toHaveBeenCalledTimes(1);
});

test("each API words the same failure its own way, with the same status and headers", async () => {
  const openai = toOpenAIErrorResponse("UNKNOWN", new ServerBusyError(2));
  const ollama = toOllamaErrorResponse("UNKNOWN", new ServerBusyError(2));
  expect([openai.status, ollama.status]).toEqual([503, 503]);
  expect([openai.headers.get("retry-after"), ollama.headers.get("retry-after")]).toEqual(["2", "2"]);
  expect(await openai.json()).toEqual({
    error: { message: "The server is over capacity: every sequence is busy and the queue is full. Retry later.", type: "server_error", param: null, code: "server_busy" },
  });
  expect(await ollama.json()).toEqual({ error: "server busy, please try again. maximum pending requests exceeded" });

  const missing = classifyError("UNKNOWN", new ModelNotFoundError("nope"));
  expect(renderOpenAIError(missing)).toEqual({ error: { message: "The model 'nope' does not exist.", type: "invalid_request_error", param: "model", code: "model_not_found" } });
  expect(renderOllamaError(missing)).toEqual({ error: 'model "nope" not found, try pulling it first' });
});
