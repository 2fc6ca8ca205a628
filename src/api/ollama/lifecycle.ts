import type { Engine } from "../../engine/engine.ts";
import type { ModelInfo } from "../../models/catalog.ts";

/** Ollama's request without a prompt or messages: it loads the model, or with keep_alive 0 unloads it. */
export async function loadOrUnload(engine: Engine, info: ModelInfo, keepAliveMs: number | undefined): Promise<"load" | "unload"> {
  if (keepAliveMs === 0) {
    await engine.unload(info);
    return "unload";
  }
  await engine.load(info, keepAliveMs);
  return "load";
}
