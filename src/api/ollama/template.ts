import { InvalidRequestError } from "../../errors.ts";

/**
 * /api/generate's `template`. Ollama's templates are Go templates; Hearth renders the subset a
 * single-turn prompt template uses (Modelfile TEMPLATE's documented variables): `{{ .System }}`,
 * `{{ .Prompt }}`, `{{ .Response }}` (where the answer begins: the rest is left out) and
 * `{{ if .X }}…{{ else }}…{{ end }}`, with `{{-`/`-}}` trimming. A template with Jinja blocks
 * (`{%`) is a chat template for the engine instead. Anything else (`range .Messages`, functions,
 * pipelines) is refused with a 400 rather than rendered wrong.
 */
export type PromptTemplate = { kind: "jinja"; template: string } | { kind: "go"; render(values: TemplateValues): string };

export interface TemplateValues {
  System: string;
  Prompt: string;
}

type Field = "System" | "Prompt" | "Response";
type Node = { text: string } | { field: Field } | { if: Field; then: Node[]; else: Node[] };
type Piece = { text: string } | { action: string };

const ACTION = /\{\{(-\s)?\s*([\s\S]*?)\s*(\s-)?\}\}/g;
const FIELD = /^\.(System|Prompt|Response)$/;

export function parseTemplate(template: string): PromptTemplate {
  if (template.includes("{%")) return { kind: "jinja", template };
  const nodes = parse(pieces(template));
  return { kind: "go", render: (values) => render(nodes, { ...values, Response: "" }).text };
}

/** Splits the template into text and actions, applying the trim markers to the neighbouring text. */
function pieces(template: string): Piece[] {
  const result: Piece[] = [];
  let at = 0;
  let trimNext = false;
  for (const match of template.matchAll(ACTION)) {
    let text = template.slice(at, match.index);
    if (trimNext) text = text.trimStart();
    if (match[1]) text = text.trimEnd();
    result.push({ text }, { action: match[2]! });
    trimNext = match[3] !== undefined;
    at = match.index + match[0].length;
  }
  const rest = template.slice(at);
  result.push({ text: trimNext ? rest.trimStart() : rest });
  return result;
}

function parse(list: Piece[]): Node[] {
  let i = 0;
  const block = (inside: boolean): { nodes: Node[]; end: "end" | "else" | undefined } => {
    const nodes: Node[] = [];
    while (i < list.length) {
      const piece = list[i++]!;
      if ("text" in piece) {
        if (piece.text) nodes.push({ text: piece.text });
        continue;
      }
      const action = piece.action;
      const field = FIELD.exec(action);
      if (field) {
        nodes.push({ field: field[1] as Field });
        continue;
      }
      if ((action === "end" || action === "else") && inside) return { nodes, end: action };
      const condition = /^if\s+(\S+)$/.exec(action);
      const conditionField = condition && FIELD.exec(condition[1]!);
      if (!conditionField) throw unsupported(action);
      const then = block(true);
      const otherwise = then.end === "else" ? block(true) : { nodes: [], end: then.end };
      if (otherwise.end !== "end") throw new InvalidRequestError('template: an {{ if }} has no matching {{ end }}', "template");
      nodes.push({ if: conditionField[1] as Field, then: then.nodes, else: otherwise.nodes });
    }
    return { nodes, end: undefined };
  };
  return block(false).nodes;
}

/** Renders until {{ .Response }}: what follows it is the answer's, which the model writes. */
function render(nodes: Node[], values: Record<Field, string>): { text: string; stopped: boolean } {
  let text = "";
  for (const node of nodes) {
    if ("text" in node) {
      text += node.text;
      continue;
    }
    if ("field" in node) {
      if (node.field === "Response") return { text, stopped: true };
      text += values[node.field];
      continue;
    }
    const inner = render(values[node.if] ? node.then : node.else, values);
    text += inner.text;
    if (inner.stopped) return { text, stopped: true };
  }
  return { text, stopped: false };
}

function unsupported(action: string): InvalidRequestError {
  return new InvalidRequestError(
    `template: {{ ${action} }} is not supported; Hearth renders Go templates that use only .System, .Prompt and .Response ` +
      "with if, else and end, or Jinja chat templates ({% … %})",
    "template",
  );
}
