import { Elysia } from "elysia";
import { resolve } from "node:path";
import type { Engine } from "../../engine/engine.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { ModelCatalog, ModelInfo } from "../../models/catalog.ts";
import { copyModelFile, copyStoredModel, deleteModelFile } from "../../models/files.ts";
import { parseOllamaName } from "../../models/ollama-name.ts";
import { readGgufContents, type GgufContents } from "../../models/gguf-contents.ts";
import { pathForModelName, taggedModelName } from "../../models/naming.ts";
import { mayUseModel, principalOf, type Principal } from "../../auth/principal.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OllamaError } from "./errors.ts";
import { modelDetails } from "./model-details.ts";
import { renderModelfile, renderParameters, type ParameterValue } from "./modelfile.ts";
import { CopyRequest, DeleteRequest, ShowRequest, ShowResponse, TagsResponse, type ShowResponseT, type TagsResponseT } from "./models-schemas.ts";

async function tags(catalog: ModelCatalog, principal: Principal): Promise<TagsResponseT> {
  const models = (await catalog.list()).filter((m) => mayUseModel(principal, m.name));
  // Ollama lists the most recently modified first.
  const newestFirst = models.toSorted((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime() || a.name.localeCompare(b.name));
  return {
    models: await Promise.all(
      newestFirst.map(async (m) => ({
        name: taggedModelName(m.name),
        model: taggedModelName(m.name),
        modified_at: m.modifiedAt.toISOString(),
        size: m.sizeBytes,
        digest: await catalog.digest(m),
        details: modelDetails(m),
        capabilities: m.capabilities,
      })),
    ),
  };
}

async function show(info: ModelInfo, verbose: boolean): Promise<ShowResponseT> {
  const contents = await readGgufContents(info.path);
  const stored = info.stored;
  // A stored model's params layer is its parameters; a plain GGUF's are the tokens that end generation.
  const parameters = stored?.parameters ? parameterLines(stored.parameters) : contents.stopTokens.map((token): [string, string] => ["stop", token]);
  const ggufLicense = contents.keyValues["general.license"];
  const licenses = stored?.license ?? (typeof ggufLicense === "string" && ggufLicense ? [ggufLicense] : []);
  return {
    license: licenses.join("\n"),
    modelfile: renderModelfile({
      name: taggedModelName(info.name),
      path: info.path,
      parameters,
      license: licenses,
      template: stored?.template,
      system: stored?.system,
      messages: stored?.messages,
    }),
    parameters: renderParameters(parameters),
    template: stored?.template ?? info.chatTemplate ?? "",
    system: stored?.system ?? "",
    ...(stored?.messages ? { messages: stored.messages } : {}),
    details: modelDetails(info),
    model_info: modelInfo(info, contents, verbose),
    ...(verbose ? { tensors: contents.tensors } : {}),
    capabilities: info.capabilities,
    modified_at: info.modifiedAt.toISOString(),
  };
}

/**
 * The GGUF key/values as Ollama shows them: sorted by key, without general.name (the request
 * names the model) and the chat template (it has its own field), with the parameter count
 * counted from the tensors, and without verbose every array longer than 5 sent empty.
 */
function modelInfo(info: ModelInfo, contents: GgufContents, verbose: boolean): Record<string, unknown> {
  const entries = Object.entries({ ...contents.keyValues, "general.parameter_count": info.parameterCount })
    .filter(([key]) => key !== "general.name" && key !== "tokenizer.chat_template")
    .map(([key, value]) => [key, !verbose && Array.isArray(value) && value.length > 5 ? [] : value] as const);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One line per value, lists (several stop strings) as one line each, as Ollama lists them. */
function parameterLines(parameters: Record<string, unknown>): Array<[string, ParameterValue]> {
  return Object.entries(parameters).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).filter(isParameterValue).map((v): [string, ParameterValue] => [name, v]),
  );
}

function isParameterValue(v: unknown): v is ParameterValue {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function requiredModel(body: { model?: string; name?: string }): string {
  const model = body.model || body.name;
  if (!model) throw new InvalidRequestError("model is required", "model");
  return model;
}

/** Ollama answers a successful copy or delete with a 200 and no body. */
const empty = () => new Response(null, { status: 200 });
/**
 * The OpenAPI plugin writes a void response schema as an invalid content object, so the routes
 * that answer with no body describe their responses themselves (they have no body to validate).
 */
const EMPTY_SUCCESS = {
  200: { description: "Success, with no body" },
  400: { description: "A field is missing, of the wrong type or invalid", content: { "application/json": { schema: OllamaError } } },
  404: { description: "No such model", content: { "application/json": { schema: OllamaError } } },
};

export function modelsRoutes(engine: Engine) {
  const catalog = engine.catalog;
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-models", detail: { tags: ["Ollama"] } })
    .get("/api/tags", ({ request }) => tags(catalog, principalOf(request)), {
      response: { 200: TagsResponse },
      detail: {
        summary: "List local models",
        description:
          "Every GGUF file in the models folder. `digest` is the SHA-256 of the file, computed once per version of the file (the first listing of a large model takes seconds). HEAD answers with the same headers and no body.",
      },
    })
    .post("/api/show", async ({ body }) => show(await catalog.get(requiredModel(body)), body.verbose === true), {
      // Ollama reads every body as JSON, whatever its content type: its docs use curl -d, which says form-urlencoded.
      parse: "json",
      body: ShowRequest,
      response: { 200: ShowResponse, 400: OllamaError, 404: OllamaError },
      detail: { summary: "Show model information", description: "Read from the GGUF header: nothing is loaded." },
    })
    .post(
      "/api/copy",
      async ({ body }) => {
        const source = await catalog.get(body.source);
        if (source.stored) {
          await copyStoredModel(catalog.store, source.stored, parseOllamaName(body.destination, "destination"));
          return empty();
        }
        const target = pathForModelName(catalog.dir, body.destination, "destination");
        // Loaded models are known by their file: one loaded from the file being replaced would keep answering with the old weights.
        const replaced = (await catalog.list()).find((m) => resolve(m.path) === resolve(target));
        if (replaced && resolve(replaced.path) !== resolve(source.path)) await engine.unload(replaced);
        await copyModelFile(source, target);
        return empty();
      },
      {
        parse: "json",
        body: CopyRequest,
        detail: {
          responses: EMPTY_SUCCESS,
          summary: "Copy a model",
          description:
            'Copies the GGUF file to the path the destination names ("x" or "x:latest" → x.gguf, "x:tag" → x/tag.gguf, "org/x" → org/x/latest.gguf), replacing a model of that name. 200 with an empty body.',
        },
      },
    )
    .delete(
      "/api/delete",
      async ({ body }) => {
        const model = await catalog.get(requiredModel(body));
        if (model.stored && !model.stored.store.writable) {
          throw new InvalidRequestError(`${body.model ?? body.name} is served from the Ollama store in ${model.stored.store.root}, which Hearth only reads; delete it with Ollama`, "model");
        }
        // Requests still using the model finish first; the file's mapping outlives its name.
        await engine.unload(model);
        if (model.stored) await model.stored.store.remove(model.stored.manifestPath);
        else await deleteModelFile(catalog, model);
        return empty();
      },
      {
        parse: "json",
        body: DeleteRequest,
        detail: {
          responses: EMPTY_SUCCESS,
          summary: "Delete a model",
          description:
            "Unloads the model (once requests using it are done) and removes its GGUF file from the models folder; a symlinked model loses only its link. 200 with an empty body.",
        },
      },
    );
}
