import { InvalidRequestError } from "../errors.ts";

type Kind = "integer" | "number" | "boolean" | "strings";

/**
 * Ollama's model parameters (api.Options and its Runner, by their JSON names) and the type each
 * holds: what a Modelfile PARAMETER or POST /api/create's `parameters` may set. Ollama reads a
 * params layer into these fields when it loads a model and refuses a value of the wrong type then,
 * so a created model's layer must hold nothing else.
 */
const PARAMETERS: Record<string, Kind> = {
  num_keep: "integer",
  seed: "integer",
  num_predict: "integer",
  top_k: "integer",
  top_p: "number",
  min_p: "number",
  typical_p: "number",
  repeat_last_n: "integer",
  temperature: "number",
  repeat_penalty: "number",
  presence_penalty: "number",
  frequency_penalty: "number",
  stop: "strings",
  num_ctx: "integer",
  num_batch: "integer",
  num_gpu: "integer",
  main_gpu: "integer",
  use_mmap: "boolean",
  num_thread: "integer",
  draft_num_predict: "integer",
};

const fits: Record<Kind, (v: unknown) => boolean> = {
  integer: (v) => Number.isSafeInteger(v),
  number: (v) => typeof v === "number" && Number.isFinite(v),
  boolean: (v) => typeof v === "boolean",
  strings: (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
};

/**
 * Checks a create request's parameters by name and type, naming `parameters.<name>` in the 400,
 * and returns them as Ollama stores them: `stop` always a list (a single string is accepted). A
 * null stays null: it unsets what the model created from had (Ollama skips nulls when it loads).
 */
export function checkParameters(parameters: Record<string, unknown>): Record<string, unknown> {
  const checked: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(parameters)) {
    const field = `parameters.${name}`;
    const kind = PARAMETERS[name];
    if (!kind) throw new InvalidRequestError(`unknown parameter '${field}': Ollama's parameters are ${Object.keys(PARAMETERS).join(", ")}`, field);
    const value = kind === "strings" && typeof raw === "string" ? [raw] : raw;
    if (value !== null && !fits[kind](value)) {
      const expected = kind === "strings" ? "a string or a list of strings" : `${kind === "integer" ? "an" : "a"} ${kind}`;
      throw new InvalidRequestError(`Invalid value for '${field}': expected ${expected}, not ${JSON.stringify(raw)}.`, field);
    }
    checked[name] = value;
  }
  return checked;
}
