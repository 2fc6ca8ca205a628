import type { Database } from "bun:sqlite";
import type { EngineMessage, GenerationRequest } from "../../engine/types.ts";
import { InvalidRequestError, ObjectNotFoundError } from "../../errors.ts";
import { ChatCompletions } from "../../store/chat-completions.ts";
import { Conversations, newId, type NewConversationItem } from "../../store/conversations.ts";
import type { ChatCompletionRequestT, ChatCompletionT, ChatMessage } from "../openai/schemas.ts";
import type { CompletionExtras } from "../openai/translate.ts";
import { checkMetadata } from "./metadata.ts";
import { assistantItems, chatMessageItems, historyMessages } from "./translate.ts";

export type StoredChatCompletions = ChatCompletions<ChatCompletionT, ChatMessage>;

export function conversationNotFound(id: string, param: string): ObjectNotFoundError {
  return new ObjectNotFoundError(`Conversation with id '${id}' not found.`, param);
}

/**
 * What chat completions keep (seed 004's `conversation`, `store` and `store_reasoning`, and
 * OpenAI's stored chat completions): a request reads its conversation before it is generated, and
 * keeps its turn once the answer is whole.
 */
export class ChatStore {
  readonly conversations: Conversations;
  readonly completions: StoredChatCompletions;

  constructor(db: Database) {
    this.conversations = new Conversations(db);
    this.completions = new ChatCompletions(db);
  }

  /** The request's turn; what it cannot continue or keep is refused (400, 404) before anything is generated. */
  begin(body: ChatCompletionRequestT, owner: string): ChatTurn {
    const metadata = checkMetadata(body.metadata);
    const store = body.store === true;
    const ref = body.conversation;
    const named = typeof ref === "string" ? ref : (ref?.id ?? undefined);
    // `{}` without store would start a conversation nothing is ever kept in: none is created.
    const starts = ref != null && named === undefined && store;
    if (named === undefined && !starts) return new ChatTurn(this, owner, body, metadata);
    if (store && body.functions) {
      throw new InvalidRequestError("a conversation keeps tool calls, not the deprecated functions' calls: offer the functions as tools", "functions");
    }
    const input = store ? latestInput(body.messages).flatMap(({ message, index }) => chatMessageItems(message, body.store_reasoning === true, `messages[${index}]`)) : [];
    if (named === undefined) return new ChatTurn(this, owner, body, metadata, { id: newId("conv"), isNew: true, history: [], input });
    const items = this.conversations.history(owner, named);
    if (!items) throw conversationNotFound(named, "conversation");
    return new ChatTurn(this, owner, body, metadata, { id: named, isNew: false, history: historyMessages(items), input });
  }
}

interface TurnConversation {
  id: string;
  /** `{}` with store: created when the answer is kept, under the id the response already named */
  isNew: boolean;
  history: EngineMessage[];
  /** the items the request's latest input becomes, when it is kept */
  input: NewConversationItem[];
}

/** One chat request's reading and keeping. */
export class ChatTurn {
  constructor(
    private readonly store: ChatStore,
    private readonly owner: string,
    private readonly body: ChatCompletionRequestT,
    private readonly metadata: Record<string, string>,
    private readonly conversation?: TurnConversation,
  ) {}

  /** The conversation the request continues or starts, as the response names it. */
  get conversationId(): string | undefined {
    return this.conversation?.id;
  }

  get extras(): CompletionExtras {
    return this.conversation ? { conversation: { id: this.conversation.id } } : {};
  }

  /** The conversation's history goes before the request's messages, after their leading system messages: a system prompt stays first. */
  withHistory(request: GenerationRequest): GenerationRequest {
    const history = this.conversation?.history ?? [];
    if (history.length === 0) return request;
    const lead = request.messages.findIndex((message) => message.role !== "system");
    const at = lead === -1 ? request.messages.length : lead;
    return { ...request, messages: [...request.messages.slice(0, at), ...history, ...request.messages.slice(at)] };
  }

  /**
   * Keeps the answer when the request asked to (`store`): the stored completion and the
   * conversation's new items in one transaction. `completion` is undefined when the answer never
   * completed; one whose client went away (`signal`) is not kept either.
   */
  keep(completion: ChatCompletionT | undefined, signal: AbortSignal): void {
    if (this.body.store !== true || !completion || signal.aborted) return;
    const keepReasoning = this.body.store_reasoning === true;
    const conversation = this.conversation;
    this.store.conversations.transaction(() => {
      if (conversation) {
        const answer = completion.choices[0]!.message;
        const items = [...conversation.input, ...assistantItems({ content: answer.content, reasoning: answer.reasoning_content, toolCalls: answer.tool_calls }, keepReasoning)];
        if (conversation.isNew) this.store.conversations.create(this.owner, {}, items, conversation.id);
        else if (!this.store.conversations.append(this.owner, conversation.id, items)) throw conversationNotFound(conversation.id, "conversation");
      }
      this.store.completions.save(this.owner, { completion: keepReasoning ? completion : withoutReasoning(completion), messages: this.body.messages, metadata: this.metadata });
    });
  }
}

/**
 * The request's latest input, what a conversation gains besides the answer: its last message, or
 * when that is a tool result, every tool result since the last assistant message.
 */
function latestInput(messages: ChatMessage[]): Array<{ message: ChatMessage; index: number }> {
  const last = messages.length - 1;
  if (messages[last]!.role !== "tool") return [{ message: messages[last]!, index: last }];
  const assistantAt = messages.findLastIndex((message) => message.role === "assistant");
  return messages.flatMap((message, index) => (index > assistantAt && message.role === "tool" ? [{ message, index }] : []));
}

function withoutReasoning(completion: ChatCompletionT): ChatCompletionT {
  return {
    ...completion,
    choices: completion.choices.map((choice) => {
      const { reasoning_content: _content, reasoning: _reasoning, ...message } = choice.message;
      return { ...choice, message };
    }),
  };
}
