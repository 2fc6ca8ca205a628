import { ClientError } from "./api.ts";

/**
 * The model parameters Ollama's client knows (api.Options), by the JSON type it sends them as.
 * The client types and checks them, as `ollama` does, so that a typo in a Modelfile fails
 * before anything is uploaded; the server decides what it acts on.
 */
const KINDS: Record<string, "int" | "float" | "bool" | "strings"> = {
  num_keep: "int",
  seed: "int",
  num_predict: "int",
  top_k: "int",
  top_p: "float",
  min_p: "float",
  typical_p: "float",
  repeat_last_n: "int",
  temperature: "float",
  repeat_penalty: "float",
  presence_penalty: "float",
  frequency_penalty: "float",
  stop: "strings",
  num_ctx: "int",
  num_batch: "int",
  num_gpu: "int",
  main_gpu: "int",
  use_mmap: "bool",
  num_thread: "int",
};

/** Parameters Ollama dropped: a Modelfile naming one still works, with a warning. */
export const DEPRECATED_PARAMETERS = new Set(["penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta"]);

export type ParameterValue = number | boolean | string[];

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLS: Record<string, boolean> = { "1": true, t: true, T: true, TRUE: true, true: true, True: true, "0": false, f: false, F: false, FALSE: false, false: false, False: false };

/** A parameter's value as the API takes it: `stop` a list of strings, the others their first value typed. */
export function parameterValue(name: string, values: string[]): ParameterValue {
  const kind = KINDS[name];
  if (!kind) throw new ClientError(`unknown parameter '${name}'`);
  const [first = ""] = values;
  const invalid = () => new ClientError(`invalid ${kind} value [${values.join(" ")}]`);
  switch (kind) {
    case "strings":
      return values;
    case "int":
      if (!INT.test(first)) throw invalid();
      return Number(first);
    case "float":
      if (!FLOAT.test(first)) throw invalid();
      return Number(first);
    case "bool":
      if (!(first in BOOLS)) throw invalid();
      return BOOLS[first]!;
  }
}
