import { Elysia } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { ModelCatalog } from "../../models/catalog.ts";
import { createModel, type CreateSpec } from "../../models/create-model.ts";
import { checkParameters } from "../../models/modelfile-parameters.ts";
import { canonicalModelName } from "../../models/naming.ts";
import { displayName, parseOllamaName } from "../../models/ollama-name.ts";
import { uploadedGguf } from "../../models/uploaded-files.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { CreateProgress, CreateRequest, type CreateRequestT } from "./create-schemas.ts";
import { OllamaError } from "./errors.ts";
import { humanNumber } from "./model-details.ts";
import { progressResponse } from "./progress.ts";

/**
 * Everything that can be wrong with a create request, found before the first progress line so
 * that it is answered with its status code (400, or 404 for an unknown `from`) rather than a
 * 200 stream ending in an error.
 */
async function createSpec(catalog: ModelCatalog, body: CreateRequestT): Promise<CreateSpec> {
  if (body.modelfile !== undefined && body.modelfile !== "") {
    throw new InvalidRequestError(
      "modelfile is no longer accepted (Ollama removed it): send its contents as fields: from or files, template, system, parameters, license, messages (`ollama create -f Modelfile` does this)",
      "modelfile",
    );
  }
  const rawName = body.model || body.name;
  if (!rawName) throw new InvalidRequestError("model is required", "model");
  const name = parseOllamaName(rawName, "model");
  for (const field of ["quantize", "quantization"] as const) {
    if (body[field]) throw new InvalidRequestError(`${field} "${body[field]}" is not supported: node-llama-cpp cannot quantize; quantize the GGUF with llama.cpp's llama-quantize and create the model from it`, field);
  }
  if (body.adapters && Object.keys(body.adapters).length > 0) {
    throw new InvalidRequestError("adapters are not supported: node-llama-cpp serves a LoRA adapter only beside its model, which Hearth does not do; merge it into the model with llama.cpp's llama-export-lora", "adapters");
  }
  const shadow = (await catalog.list()).find((m) => !m.stored && m.name.toLowerCase() === canonicalModelName(displayName(name)).toLowerCase());
  if (shadow) throw new InvalidRequestError(`model "${rawName}" is the GGUF file ${shadow.path}, which would hide a created model of that name: choose another name`, "model");

  let base: CreateSpec["base"];
  if (body.from) base = { kind: "model", model: await catalog.get(body.from) };
  else if (body.files) base = { kind: "files", model: await uploadedGguf(catalog.store, body.files) };
  else throw new InvalidRequestError("neither 'from' or 'files' was specified", "from");

  const weights = base.model;
  return {
    name,
    base,
    weights: { architecture: weights.architecture, parameterSize: humanNumber(weights.parameterCount), fileType: weights.quantization },
    template: body.template,
    system: body.system,
    license: typeof body.license === "string" ? [body.license] : (body.license ?? undefined),
    parameters: body.parameters ? checkParameters(body.parameters) : undefined,
    messages: body.messages ?? undefined,
    config: { renderer: body.renderer, parser: body.parser, requires: body.requires },
  };
}

export function createRoutes(engine: Engine) {
  const catalog = engine.catalog;
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-create", detail: { tags: ["Ollama"] } }).post(
    "/api/create",
    async ({ body, request }) => {
      const spec = await createSpec(catalog, body);
      return progressResponse(body.stream !== false, request.signal, (emit) => createModel(catalog, spec, emit)) as never;
    },
    {
      parse: "json",
      body: CreateRequest,
      response: { 200: CreateProgress, 400: OllamaError, 404: OllamaError },
      detail: {
        summary: "Create a model",
        description:
          "Ollama's create: a manifest in the models folder's store (`manifests/`, `blobs/`) under the new name, served like any model. The weights come from `from` (a GGUF file in the models folder is hashed and hard-linked, never copied; a stored model's layers are reused) " +
          "or from `files` (a GGUF uploaded with POST /api/blobs/:digest). template, system, license, parameters and messages become layers over those of `from`. `quantize` and `adapters` are refused: node-llama-cpp can do neither. Streams NDJSON progress.",
      },
    },
  );
}
