import { Elysia, t, type Static } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { mayUseModel, principalOf } from "../../auth/principal.ts";
import type { RunningModel } from "../../engine/model-pool.ts";
import { taggedModelName } from "../../models/naming.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { ModelDetails, modelDetails } from "./model-details.ts";

/** What Ollama's clients show for a model kept forever: Go's longest duration from now, about 292 years. */
const FOREVER_MS = 2 ** 63 / 1e6;

const LoadedModel = t.Object({
  name: t.String({ description: '"name:tag"' }),
  model: t.String({ description: "The same as name" }),
  size: t.Integer({ description: "Bytes of memory the weights and the context take, and the embeddings context once an embeddings request created it" }),
  digest: t.String({ description: "SHA-256 of the GGUF file, hex" }),
  details: ModelDetails,
  expires_at: t.String({ format: "date-time", description: "When it is unloaded unless used again (keep_alive); about 292 years away when kept forever" }),
  size_vram: t.Integer({ description: "The part of size in GPU memory; 0 on the CPU" }),
  context_length: t.Integer({ description: "Tokens each request may use (hearth serve --ctx-size, capped at the model's trained length)" }),
});

export const RunningModels = t.Object({ models: t.Array(LoadedModel) });
type LoadedModelT = Static<typeof LoadedModel>;

async function describe(engine: Engine, running: RunningModel): Promise<LoadedModelT> {
  const name = taggedModelName(running.info.name);
  return {
    name,
    model: name,
    size: running.sizeBytes,
    digest: await engine.catalog.digest(running.info),
    details: modelDetails(running.info),
    expires_at: new Date(running.expiresAt?.getTime() ?? Date.now() + FOREVER_MS).toISOString(),
    size_vram: running.vramBytes,
    context_length: running.contextLength,
  };
}

export function psRoutes(engine: Engine) {
  return new Elysia({ ...ROUTE_CONFIG, name: "ollama-ps", detail: { tags: ["Ollama"] } }).get(
    "/api/ps",
    async ({ request }) => {
      const principal = principalOf(request);
      const visible = engine.pool.running().filter((running) => mayUseModel(principal, running.info.name));
      return { models: await Promise.all(visible.map((running) => describe(engine, running))) };
    },
    {
      response: { 200: RunningModels },
      detail: {
        summary: "List the models in memory",
        description: "Ollama-compatible: the loaded models, their memory and when they will be unloaded (keep_alive, default 5 minutes after the last request).",
      },
    },
  );
}
