import { InvalidRequestError } from "../../errors.ts";
import type { GenerationRequest } from "../../engine/types.ts";
import type { ChatCompletionRequestT } from "./schemas.ts";

/**
 * OpenAI's function calling before tools (still sent by older clients): `functions` and
 * `function_call` instead of `tools` and `tool_choice`, the call answered as `message.function_call`
 * with finish_reason `function_call`, and results sent back as `role: "function"` messages.
 */
export type CallStyle = "tools" | "functions";

export function callStyleOf(body: ChatCompletionRequestT): CallStyle {
  return body.functions == null ? "tools" : "functions";
}

type Calling = Pick<GenerationRequest, "tools" | "toolChoice" | "parallelToolCalls">;

/**
 * The engine's tools from `functions`, or undefined when the request offers `tools` (or nothing).
 * Mixing the two vocabularies is refused rather than guessed at.
 */
export function functionsAsTools(body: ChatCompletionRequestT): Calling | undefined {
  const { functions } = body;
  if (functions == null) {
    if (body.function_call != null) throw new InvalidRequestError("'function_call' is only allowed when 'functions' are specified.", "function_call");
    return undefined;
  }
  if (body.tools != null) throw new InvalidRequestError("'functions' and 'tools' cannot be used together: send only 'tools' ('functions' is its deprecated form).", "functions");
  if (body.tool_choice != null) throw new InvalidRequestError("'tool_choice' goes with 'tools'; with 'functions' use 'function_call'.", "tool_choice");
  const choice = body.function_call ?? "auto";
  if (typeof choice === "object" && !functions.some((f) => f.name === choice.name)) {
    throw new InvalidRequestError(`function_call names the function "${choice.name}", which is not in functions`, "function_call.name");
  }
  return {
    tools: functions.map((f) => ({ name: f.name, description: f.description, parameters: f.parameters })),
    toolChoice: typeof choice === "string" ? choice : { name: choice.name },
    // An answer carries a single function_call.
    parallelToolCalls: false,
  };
}
