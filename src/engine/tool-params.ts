import {
  LlamaGrammarEvaluationState,
  LlamaText,
  type ChatModelFunctions,
  type ChatWrapper,
  type ChatWrapperGenerateContextStateOptions,
  type Llama,
  type LlamaContextSequence,
  type LlamaGrammar,
  type SequenceEvaluateOptions,
  type Token,
} from "node-llama-cpp";
import { createGrammar, schemaGrammar } from "./grammar.ts";
import type { ToolDefinition } from "./types.ts";

/** How node-llama-cpp ends a call's parameters (FunctionCallParamsGrammar): the JSON, then four newlines. */
const PARAMS_END = "\n\n\n\n";

/**
 * node-llama-cpp's parameters for every function: any JSON. Its own grammar for them is never
 * sampled from, and its own check of the generated parameters (which knows fewer keywords than
 * Hearth and would refuse valid calls) always passes; Hearth's grammar has already enforced the schema.
 */
const ANY_PARAMS = { oneOf: [{ type: "object", additionalProperties: true }, { type: "array" }, { type: ["string", "number", "boolean", "null"] }] };

/** What LlamaChat generates a tool-calling answer with. */
export interface ToolCalling {
  sequence: LlamaContextSequence;
  wrapper: ChatWrapper;
  functions: ChatModelFunctions;
}

/**
 * Tool parameters enforced by Hearth's JSON-schema grammars inside node-llama-cpp's function calling
 * (tool_choice auto, required or named alike). LlamaChat builds the grammar for a call's parameters
 * itself, from `functions[name].params`, with a converter that ignores keywords it does not know.
 * It samples through the context sequence, passing a grammar state per token; so the sequence given
 * to LlamaChat swaps the state: when the context ends with `<name><params prefix>` — the call's
 * parameters are about to be generated — a state of Hearth's grammar for that function takes the
 * place of LlamaChat's. The chat wrapper still renders the real schemas into the prompt.
 */
export class ToolParams {
  private constructor(private readonly grammars: Map<string, LlamaGrammar>) {}

  /** Compiles every tool's parameters (a 400 naming the tool when one cannot be enforced). */
  static async compile(llama: Llama, tools: ToolDefinition[]): Promise<ToolParams> {
    const grammars = new Map<string, LlamaGrammar>();
    for (const [i, tool] of tools.entries()) {
      if (tool.parameters === undefined) continue;
      const field = tool.field ?? `tools[${i}].function.parameters`;
      grammars.set(tool.name, await createGrammar(llama, schemaGrammar(tool.parameters, { field, path: field }, PARAMS_END), field));
    }
    return new ToolParams(grammars);
  }

  /** The sequence, chat wrapper and functions for LlamaChat, given the offered functions with their real schemas. */
  enforce(sequence: LlamaContextSequence, wrapper: ChatWrapper, functions: ChatModelFunctions): ToolCalling {
    const everyCallHasParams = Object.values(functions).every((f) => f.params !== undefined);
    return {
      sequence: this.swappingGrammar(sequence, wrapper, everyCallHasParams),
      wrapper: documenting(wrapper, functions),
      functions: Object.fromEntries(Object.entries(functions).map(([name, f]) => [name, f.params === undefined ? f : { ...f, params: ANY_PARAMS as never }])),
    };
  }

  private swappingGrammar(sequence: LlamaContextSequence, wrapper: ChatWrapper, everyCallHasParams: boolean): LlamaContextSequence {
    const model = sequence.model;
    const paramsPrefix = LlamaText(wrapper.settings.functions.call.paramsPrefix).toString();
    // longest first: get_time's marker also ends with time's
    const markers = [...this.grammars.keys()].map((name) => ({ name, text: name + paramsPrefix.replaceAll("{{functionName}}", name) })).sort((a, b) => b.text.length - a.text.length);
    const tailTokens = Math.max(0, ...markers.map((m) => Buffer.byteLength(m.text))) + 4;
    const swapped = new WeakMap<object, LlamaGrammarEvaluationState>();
    const seen = new WeakSet<object>();
    // With functions, LlamaChat's grammar states are a call's name's, then (when it has any) its parameters'.
    let afterName = false;
    const evaluate = (tokens: Token[], options: SequenceEvaluateOptions = {}) => {
      // LlamaChat starts a new evaluation for each part of a call (name, then parameters) after writing what precedes it
      const tail = model.detokenize([...sequence.contextTokens.slice(-tailTokens), ...tokens].slice(-tailTokens), true);
      const called = markers.find((m) => tail.endsWith(m.text))?.name;
      const original = options.grammarEvaluationState;
      const grammarEvaluationState = () => {
        const state = typeof original === "function" ? original() : original;
        if (!state || seen.has(state)) return state && (swapped.get(state) ?? state);
        seen.add(state);
        if (called !== undefined) {
          const own = new LlamaGrammarEvaluationState({ model, grammar: this.grammars.get(called)! });
          swapped.set(state, own);
          afterName = false;
          return own;
        }
        // never generate parameters with node-llama-cpp's grammar, which knows fewer keywords, without a word
        if (afterName && everyCallHasParams) throw new Error("could not tell where a tool call's parameters begin, so they cannot be constrained to their schema");
        afterName = true;
        return state;
      };
      return sequence.evaluate(tokens, { ...options, grammarEvaluationState });
    };
    return new Proxy(sequence, { get: (target, property, receiver) => (property === "evaluate" ? evaluate : Reflect.get(target, property, receiver)) });
  }
}

/** The wrapper rendering the offered functions with their real schemas, whatever LlamaChat passes it. */
function documenting(wrapper: ChatWrapper, functions: ChatModelFunctions): ChatWrapper {
  const generateContextState = (options: ChatWrapperGenerateContextStateOptions) =>
    wrapper.generateContextState({ ...options, availableFunctions: options.availableFunctions && Object.fromEntries(Object.keys(options.availableFunctions).map((name) => [name, functions[name]!])) });
  return new Proxy(wrapper, { get: (target, property, receiver) => (property === "generateContextState" ? generateContextState : Reflect.get(target, property, receiver)) });
}
