import { LlamaText, type ChatWrapper, type ChatWrapperGenerateContextStateOptions, type ChatWrapperGeneratedContextState } from "node-llama-cpp";

/**
 * tool_choice "required" or a named function: the prompt ends with the chat format's own
 * function-call prefix and node-llama-cpp starts in function-name mode with no way out, so the
 * answer is a call whose name and arguments are grammar-constrained to the offered schemas.
 */
export function forceToolCall(wrapper: ChatWrapper): ChatWrapper {
  const prefix = wrapper.settings.functions.call.prefix;
  const generateContextState = (options: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState => {
    const state = wrapper.generateContextState(options);
    return {
      contextText: LlamaText([state.contextText, LlamaText(prefix)]),
      stopGenerationTriggers: state.stopGenerationTriggers,
      ignoreStartText: state.ignoreStartText,
      functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] },
    };
  };
  return new Proxy(wrapper, {
    get: (target, property, receiver) => (property === "generateContextState" ? generateContextState : Reflect.get(target, property, receiver)),
  });
}
