import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { compileJsonSchema } from "./json-schema/compile.ts";
import { SchemaError } from "./json-schema/errors.ts";
import { gbnfLiteral } from "./json-schema/gbnf.ts";
import { InvalidRequestError } from "../errors.ts";
import type { ResponseFormat } from "./types.ts";

/** Where a schema is in the request, for error messages. */
export interface SchemaSource {
  /** the request field refused when the schema cannot be enforced (response_format, format, tools[0].function.parameters) */
  field: string;
  /** the schema itself, which errors inside it are relative to (response_format.json_schema.schema) */
  path: string;
}

/**
 * GBNF enforcing the schema, or a 400: a malformed schema names the spot in it (param: the schema),
 * one asking for what a grammar cannot guarantee names the keyword (param: the request field).
 */
export function schemaGrammar(schema: unknown, source: SchemaSource, trailer?: string): string {
  try {
    return compileJsonSchema(schema, trailer);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    if (err.kind === "invalid") throw new InvalidRequestError(`${source.path}${err.path}: ${err.message}`, source.path);
    throw new InvalidRequestError(`${source.field} cannot be enforced: ${source.path}${err.path}: ${err.message}`, source.field);
  }
}

/** The grammar that enforces a response format, or undefined for free text. */
export async function grammarFor(llama: Llama, format: ResponseFormat): Promise<LlamaGrammar | undefined> {
  switch (format.type) {
    case "text":
      return undefined;
    case "json": {
      // without a schema (json_object, Ollama's "json"): any JSON object
      const field = format.param ?? "response_format";
      const text = schemaGrammar(format.schema ?? { type: "object" }, { field, path: format.param ?? "response_format.json_schema.schema" });
      return await createGrammar(llama, text, field);
    }
    case "choice": {
      // llama.cpp never samples a NUL: a grammar needing one has no way on, and sampling fails outright
      const nul = format.choices.findIndex((choice) => choice.includes("\0"));
      if (nul >= 0) throw new InvalidRequestError(`guided_choice[${nul}] contains a NUL character, which no token can produce`, "guided_choice");
      return await createGrammar(llama, `root ::= ${format.choices.map(gbnfLiteral).join(" | ")}`, "guided_choice");
    }
  }
}

export async function createGrammar(llama: Llama, grammar: string, field: string): Promise<LlamaGrammar> {
  try {
    return await llama.createGrammar({ grammar });
  } catch (err) {
    throw new InvalidRequestError(`${field} cannot be enforced: ${(err as Error).message}`, field);
  }
}
