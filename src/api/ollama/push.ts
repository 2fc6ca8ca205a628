import { Elysia, t } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { InvalidRequestError } from "../../errors.ts";
import { pushModel } from "../../registry/push.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { OllamaError } from "./errors.ts";
import { progressLine, progressResponse, TransferFields } from "./progress.ts";

const PushRequest = t.Object(
  {
    model: t.Optional(t.String({ description: "A stored model (pulled or created): `host[:port]/namespace/model:tag`, the registry it goes to named by its host; `http://` with insecure" })),
    ...TransferFields,
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);

const PushProgress = progressLine('"retrieving manifest", "pushing <12 hex digits>", "pushing manifest", "success"', "uploaded");

export function pushRoutes(engine: Engine) {
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-push", detail: { tags: ["Ollama"] } }).post(
    "/api/push",
    async ({ body, request }) => {
      const model = body.model || body.name;
      if (!model) throw new InvalidRequestError("model is required", "model");
      return progressResponse(body.stream !== false, request.signal, (emit, signal) =>
        pushModel(engine.catalog, model, { insecure: body.insecure === true, env: process.env, signal, onStatus: emit }),
      ) as never;
    },
    {
      parse: "json",
      body: PushRequest,
      response: { 200: PushProgress, 400: OllamaError, 401: OllamaError, 404: OllamaError, 502: OllamaError },
      detail: {
        summary: "Push a model to a registry",
        description:
          "Ollama's registry protocol (Docker registry API v2): each layer and the config unless the registry has it (HEAD), uploaded in Content-Range parts streamed from the blob file, then the manifest as stored. " +
          "Only stored models (pulled or created) have a manifest to push; registry.ollama.ai needs Ollama's account key and is refused. Streams NDJSON progress; errors after the first line arrive as a final `{\"error\"}` line.",
      },
    },
  );
}
