/** Fields naming models in Ollama's API: `model`, its older `name`, copy's `source`/`destination`, create's `from`. */
const OLLAMA_FIELDS = ["model", "name", "source", "destination", "from"];
/** Elsewhere `model`, and a vector store's `embedding_model`; a `name` there is a label (a key's, a store's). */
const OTHER_FIELDS = ["model", "embedding_model"];

/**
 * The models a request names, wherever its API puts them, and a model in the path
 * (/v1/models/{model}): what a key limited to some models is checked against.
 */
export function modelsNamed(body: unknown, params: Record<string, string | undefined> | undefined, ollama: boolean): string[] {
  const names: string[] = [];
  if (typeof body === "object" && body !== null) {
    for (const field of ollama ? OLLAMA_FIELDS : OTHER_FIELDS) {
      const value = (body as Record<string, unknown>)[field];
      if (typeof value === "string" && value !== "") names.push(value);
    }
  }
  if (params?.model) names.push(params.model);
  return names;
}
