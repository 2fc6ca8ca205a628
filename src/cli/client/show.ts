import type { HearthClient, ShowResponse } from "./api.ts";
import { table } from "./format.ts";

export async function fetchShow(client: HearthClient, model: string): Promise<ShowResponse> {
  return (await client.request<ShowResponse>("POST", "/api/show", { model })) ?? {};
}

/** One section of `show`: its title, then its rows indented below it, then a blank line. */
function section(title: string, rows: string[][], wrapWidth?: number): string {
  return `  ${title}\n${table(
    rows.map((row) => ["", ...row]),
    { wrapWidth },
  )}\n`;
}

/** The first `n` non-empty lines, and "..." when there are more. */
function head(text: string, n: number): string[][] {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const rows = lines.slice(0, n).map((l) => [l]);
  return lines.length > n ? [...rows, ["..."]] : rows;
}

/** `hearth show NAME`: Ollama's overview of a model (Model, Capabilities, Parameters, System, License). */
export function showInfo(show: ShowResponse): string {
  const details = show.details ?? {};
  const info = show.model_info ?? {};
  const model: string[][] = [];
  const architecture = typeof info["general.architecture"] === "string" ? info["general.architecture"] : "";
  if (architecture) model.push(["architecture", architecture]);
  if (details.parameter_size) model.push(["parameters", details.parameter_size]);
  for (const [key, label] of [
    ["context_length", "context length"],
    ["embedding_length", "embedding length"],
  ] as const) {
    const value = info[`${architecture}.${key}`];
    if (typeof value === "number") model.push([label, String(value)]);
  }
  model.push(["quantization", details.quantization_level ?? ""]);

  let out = section("Model", model);
  if (show.capabilities?.length) out += section("Capabilities", show.capabilities.map((c) => [c]));
  if (show.parameters) {
    const rows = show.parameters
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => l.trim().split(/\s+/));
    out += section("Parameters", rows);
  }
  if (show.system) out += section("System", head(show.system, 2), 100);
  if (show.license) out += section("License", head(show.license, 2), 100);
  return out;
}

export type ShowField = "license" | "modelfile" | "parameters" | "system" | "template";

/** One field alone, as `ollama show --FIELD` prints it (system and template without a final newline). */
export function showField(show: ShowResponse, field: ShowField): string {
  const value = show[field] ?? "";
  return field === "system" || field === "template" ? value : `${value}\n`;
}
