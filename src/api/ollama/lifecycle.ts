import type { Engine } from "../../engine/engine.ts";
import type { HoldOptions } from "../../engine/model-pool.ts";
import type { ModelInfo } from "../../models/catalog.ts";

/** Ollama's request without a prompt or messages: it loads the model (with the request's load options), or with keep_alive 0 unloads it. */
export async function loadOrUnload(engine: Engine, info: ModelInfo, options: HoldOptions): Promise<"load" | "unload"> {
  if (options.keepAliveMs === 0) {
    await engine.unload(info);
    return "unload";
  }
  await engine.load(info, options);
  return "load";
}
