import { Elysia, t } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { InvalidRequestError } from "../../errors.ts";
import { BlobDownloads, downloadSettingsFrom } from "../../registry/blob-download.ts";
import { pullModel } from "../../registry/pull.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OllamaError } from "./errors.ts";
import { progressLine, progressResponse, TransferFields } from "./progress.ts";

const PullRequest = t.Object(
  {
    model: t.Optional(t.String({ description: '`[http(s)://]host/namespace/model:tag`; defaults registry.ollama.ai, library, latest. `hf.co/<user>/<repo>:<quant>` pulls a GGUF from Hugging Face' })),
    ...TransferFields,
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);

const PullProgress = progressLine('"pulling manifest", "pulling <12 hex digits>", "verifying sha256 digest", "writing manifest", "removing unused layers", "success"', "downloaded");

export function pullRoutes(engine: Engine) {
  // One set of downloads per server, so concurrent pulls of a blob share one.
  const downloads = new BlobDownloads(downloadSettingsFrom(process.env));
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-pull", detail: { tags: ["Ollama"] } }).post(
    "/api/pull",
    async ({ body, request }) => {
      const model = body.model || body.name;
      if (!model) throw new InvalidRequestError("model is required", "model");
      return progressResponse(body.stream !== false, request.signal, (emit, signal) =>
        pullModel(engine.catalog.store, downloads, model, { insecure: body.insecure === true, env: process.env, signal, onStatus: emit }),
      ) as never;
    },
    {
      parse: "json",
      body: PullRequest,
      response: { 200: PullProgress, 400: OllamaError, 401: OllamaError, 404: OllamaError, 502: OllamaError, 507: OllamaError },
      detail: {
        summary: "Pull a model from a registry",
        description:
          "Ollama's registry protocol (Docker registry API v2): the manifest, then each layer's blob — downloaded in parallel Range parts, resumed from what an interrupted pull left, shared between concurrent pulls, checked against its sha256 — then the manifest, written last. " +
          "The model lands in the models folder (`manifests/`, `blobs/`) and is served by the name it was pulled as. Streams NDJSON progress; errors after the first line arrive as a final `{\"error\"}` line.",
      },
    },
  );
}
