import { LlamaText, SpecialToken, type ChatWrapper, type ChatWrapperGenerateContextStateOptions, type ChatWrapperGeneratedContextState } from "node-llama-cpp";

/**
 * Continuing from an earlier answer: the tokens it left (prompt and answer) come before the newly
 * rendered prompt, whose own beginning-of-text token is dropped since the prefix already has one.
 */
export function withPrefix(wrapper: ChatWrapper, prefix: LlamaText): ChatWrapper {
  const generateContextState = (options: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState => {
    const state = wrapper.generateContextState(options);
    return { ...state, contextText: LlamaText([prefix, withoutLeadingBos(state.contextText)]) };
  };
  return new Proxy(wrapper, {
    get: (target, property, receiver) => (property === "generateContextState" ? generateContextState : Reflect.get(target, property, receiver)),
  });
}

function withoutLeadingBos(text: LlamaText): LlamaText {
  const [first, ...rest] = text.values;
  return first instanceof SpecialToken && first.value === "BOS" ? LlamaText(rest) : text;
}
