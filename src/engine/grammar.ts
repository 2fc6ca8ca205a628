import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { checkSchemaTypes } from "./schema-check.ts";
import { InvalidRequestError, type ResponseFormat } from "./types.ts";

/** The grammar that enforces a response format, or undefined for free text. */
export async function grammarFor(llama: Llama, format: ResponseFormat): Promise<LlamaGrammar | undefined> {
  if (format.type === "json" && format.schema) checkSchemaTypes(format.schema, format.param ?? "response_format.json_schema.schema");
  try {
    switch (format.type) {
      case "text":
        return undefined;
      case "json":
        return format.schema ? await llama.createGrammarForJsonSchema(format.schema as never) : await llama.getGrammarFor("json");
      case "choice":
        return await llama.createGrammar({ grammar: `root ::= ${format.choices.map(gbnfLiteral).join(" | ")}` });
    }
  } catch (err) {
    const param = format.type === "json" ? (format.param ?? "response_format") : "guided_choice";
    throw new InvalidRequestError(`${param} cannot be enforced: ${(err as Error).message}`, param);
  }
}

function gbnfLiteral(text: string): string {
  const escaped = text.replace(/[\\"\n\r\t]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!);
  return `"${escaped}"`;
}
