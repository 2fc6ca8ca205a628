import { t, type Static } from "elysia";
import { Metadata } from "../conversations/metadata.ts";
import { RagContext, RagParams } from "../rag-params.ts";

/** OpenAI's error envelope; `param` names the offending request field. */
export const OpenAIError = t.Object(
  {
    error: t.Object({
      message: t.String(),
      type: t.String({ examples: ["invalid_request_error"] }),
      param: t.Nullable(t.String()),
      code: t.Nullable(t.String()),
    }),
  },
  { $id: "#/components/schemas/OpenAIError" },
);

const TextPart = t.Object({ type: t.Literal("text"), text: t.String() });
const ImageUrlPart = t.Object({
  type: t.Literal("image_url"),
  image_url: t.Object({ url: t.String({ description: "http(s) URL or data: URI" }), detail: t.Optional(t.String()) }),
});
const VideoUrlPart = t.Object({ type: t.Literal("video_url"), video_url: t.Object({ url: t.String() }) });
const ContentPart = t.Union([TextPart, ImageUrlPart, VideoUrlPart]);
export type ContentPartT = Static<typeof ContentPart>;

const Content = t.Union([t.String(), t.Array(ContentPart)], {
  description: "A string, or content parts (`text`; `image_url` and `video_url` need a vision model)",
});

const FunctionCallT = t.Object({ name: t.String(), arguments: t.String({ description: "JSON-encoded arguments" }) });

const ToolCallT = t.Object({
  id: t.String(),
  type: t.Literal("function"),
  function: FunctionCallT,
});

const Message = t.Union([
  t.Object({ role: t.Union([t.Literal("system"), t.Literal("developer")]), content: Content, name: t.Optional(t.String()) }),
  t.Object({ role: t.Literal("user"), content: Content, name: t.Optional(t.String()) }),
  t.Object({
    role: t.Literal("assistant"),
    content: t.Optional(t.Nullable(Content)),
    reasoning_content: t.Optional(t.Nullable(t.String())),
    reasoning: t.Optional(t.Nullable(t.String())),
    name: t.Optional(t.String()),
    tool_calls: t.Optional(t.Array(ToolCallT)),
    function_call: t.Optional(t.Nullable(FunctionCallT, { description: "Deprecated: a call made with `functions`" })),
  }),
  t.Object({ role: t.Literal("tool"), content: Content, tool_call_id: t.String() }),
  t.Object(
    { role: t.Literal("function"), content: t.Nullable(t.String()), name: t.String({ description: "The function whose result this is" }) },
    { description: "Deprecated: the result of a call made with `functions`" },
  ),
]);
export type ChatMessage = Static<typeof Message>;

const FunctionDefinition = {
  name: t.String({ pattern: "^[a-zA-Z0-9_-]{1,64}$" }),
  description: t.Optional(t.String()),
  parameters: t.Optional(t.Record(t.String(), t.Unknown(), { description: "JSON schema of the arguments object" })),
};

const Tool = t.Object({
  type: t.Literal("function"),
  function: t.Object({ ...FunctionDefinition, strict: t.Optional(t.Nullable(t.Boolean())) }),
});

const ResponseFormat = t.Union([
  t.Object({ type: t.Literal("text") }),
  t.Object({ type: t.Literal("json_object") }),
  t.Object({
    type: t.Literal("json_schema"),
    json_schema: t.Object({
      name: t.String(),
      description: t.Optional(t.String()),
      schema: t.Optional(t.Record(t.String(), t.Unknown())),
      strict: t.Optional(t.Nullable(t.Boolean())),
    }),
  }),
]);

const ReasoningSwitch = t.Union(
  ["low", "medium", "high", "on", "off", "none", "minimal"].map((v) => t.Literal(v)),
  { description: "low, minimal, off, none ⇒ thinking off; medium, high, on ⇒ thinking on" },
);

export const ChatCompletionRequest = t.Object(
  {
    model: t.String({ description: "A model name from GET /v1/models" }),
    messages: t.Array(Message, { minItems: 1 }),
    stream: t.Optional(t.Nullable(t.Boolean())),
    stream_options: t.Optional(t.Nullable(t.Object({ include_usage: t.Optional(t.Boolean()) }))),
    max_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 1, description: "Deprecated: use max_completion_tokens" }))),
    max_completion_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 1, description: "Upper bound on generated tokens, reasoning included; wins over max_tokens" }))),
    temperature: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 2 }))),
    top_p: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1 }))),
    top_k: t.Optional(t.Nullable(t.Integer({ minimum: 0 }))),
    min_p: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1 }))),
    seed: t.Optional(t.Nullable(t.Integer())),
    stop: t.Optional(t.Nullable(t.Union([t.String(), t.Array(t.String(), { maxItems: 4 })]))),
    presence_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
    frequency_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
    repetition_penalty: t.Optional(t.Nullable(t.Number({ exclusiveMinimum: 0 }))),
    response_format: t.Optional(t.Nullable(ResponseFormat)),
    tools: t.Optional(t.Nullable(t.Array(Tool))),
    tool_choice: t.Optional(
      t.Nullable(
        t.Union([t.Literal("none"), t.Literal("auto"), t.Literal("required"), t.Object({ type: t.Literal("function"), function: t.Object({ name: t.String() }) })], {
          description: "none | auto | required | {type: \"function\", function: {name}}; required and named calls are grammar-enforced",
        }),
      ),
    ),
    parallel_tool_calls: t.Optional(t.Nullable(t.Boolean({ description: "false ⇒ at most one call" }))),
    functions: t.Optional(
      t.Nullable(
        t.Array(t.Object(FunctionDefinition), {
          minItems: 1,
          maxItems: 128,
          description: "Deprecated form of `tools` (not together with it): the call comes back as `message.function_call`, with finish_reason `function_call`",
        }),
      ),
    ),
    function_call: t.Optional(
      t.Nullable(
        t.Union([t.Literal("none"), t.Literal("auto"), t.Object({ name: t.String() })], {
          description: "Deprecated form of `tool_choice`, for `functions`: none | auto (the default) | {name}",
        }),
      ),
    ),
    prediction: t.Optional(
      t.Nullable(
        t.Object(
          { type: t.Literal("content"), content: t.Union([t.String(), t.Array(TextPart)]) },
          { description: "Predicted output: text the answer is expected to largely repeat (a file being edited), drafted from to speed up decoding; the answer is the same without it" },
        ),
      ),
    ),
    n: t.Optional(t.Nullable(t.Integer({ minimum: 1, maximum: 8, description: "Number of choices; each uses its own seed (seed + index)" }))),
    logprobs: t.Optional(t.Nullable(t.Boolean())),
    top_logprobs: t.Optional(t.Nullable(t.Integer({ minimum: 0, maximum: 20, description: "Needs logprobs: true" }))),
    logit_bias: t.Optional(
      t.Nullable(
        t.Record(t.String({ pattern: "^[0-9]+$" }), t.Number({ minimum: -100, maximum: 100 }), {
          description: "Token id (as a string) → bias added to its logit; -100 bans the token",
        }),
      ),
    ),
    guided_choice: t.Optional(t.Nullable(t.Array(t.String(), { minItems: 1, description: "The answer is exactly one of these strings (grammar-enforced)" }))),
    reasoning_effort: t.Optional(t.Nullable(ReasoningSwitch)),
    reasoning: t.Optional(t.Nullable(t.Object({ effort: t.Optional(ReasoningSwitch) }))),
    chat_template_kwargs: t.Optional(t.Nullable(t.Object({ enable_thinking: t.Optional(t.Boolean()) }))),
    enable_thinking: t.Optional(t.Nullable(t.Boolean({ description: "vLLM-style thinking switch" }))),
    user: t.Optional(t.String({ description: "Accepted and ignored" })),
    metadata: t.Optional(t.Nullable(Metadata, { description: "Kept with the completion when `store` is true" })),
    conversation: t.Optional(
      t.Nullable(
        t.Union([t.String({ description: "A conversation id" }), t.Object({ id: t.Optional(t.Nullable(t.String({ description: "A conversation id; absent or null starts a new conversation" }))) })], {
          description:
            "The conversation this request continues (`{id}` or the id alone), or `{}` to start one. Its items come before `messages` (after their leading system messages). " +
            "A new conversation is created only when the answer is stored (`store: true`), and is named before then; without `store` nothing is created. " +
            "The response names it in `conversation` and the X-Conversation-Id header.",
        }),
      ),
    ),
    store: t.Optional(
      t.Nullable(
        t.Boolean({
          description:
            "Keep the answer once it is complete: as a stored chat completion (GET /v1/chat/completions/{id}, with the request's messages and metadata), and with a conversation, " +
            "the last input message (the tool results since the last assistant message, if it is one) and the first choice's answer, appended as items. " +
            "A stream is kept only once it ends normally; an answer whose client went away is not kept. Without it a conversation is only read.",
        }),
      ),
    ),
    store_reasoning: t.Optional(t.Nullable(t.Boolean({ description: "With `store`: keep the model's reasoning too (a reasoning item; reasoning_content in the stored completion); without it, reasoning is dropped" }))),
    service_tier: t.Optional(t.Nullable(t.String({ description: "Accepted and ignored" }))),
    verbosity: t.Optional(t.Nullable(t.String({ description: "Accepted and ignored" }))),
    safety_identifier: t.Optional(t.Nullable(t.String({ description: "Accepted and ignored" }))),
    chat_id: t.Optional(t.Nullable(t.String({ description: "The client's id for the chat: written as chat_id in the request's log line" }))),
    rag_params: t.Optional(t.Nullable(RagParams)),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type ChatCompletionRequestT = Static<typeof ChatCompletionRequest>;

const Usage = t.Object({
  prompt_tokens: t.Integer(),
  completion_tokens: t.Integer(),
  total_tokens: t.Integer(),
  prompt_tokens_details: t.Object({ cached_tokens: t.Integer() }),
  completion_tokens_details: t.Object({
    reasoning_tokens: t.Integer(),
    accepted_prediction_tokens: t.Integer({ description: "Tokens of `prediction` the answer confirmed" }),
    rejected_prediction_tokens: t.Integer({ description: "Tokens of `prediction` drafted and rejected" }),
  }),
});

const FinishReason = t.Union([t.Literal("stop"), t.Literal("length"), t.Literal("tool_calls"), t.Literal("function_call")]);

const TopLogprob = t.Object({ token: t.String(), logprob: t.Number(), bytes: t.Nullable(t.Array(t.Integer())) });
const TokenLogprobs = t.Nullable(t.Array(t.Composite([TopLogprob, t.Object({ top_logprobs: t.Array(TopLogprob) })])));
const Logprobs = t.Nullable(t.Object({ content: TokenLogprobs, refusal: TokenLogprobs }));
export type LogprobsT = Static<typeof Logprobs>;

const ConversationName = t.Object({ id: t.String() }, { description: "Hearth extension: the conversation the request continued or started (also the X-Conversation-Id header)" });

export const ChatCompletion = t.Object({
  id: t.String(),
  object: t.Literal("chat.completion"),
  created: t.Integer(),
  model: t.String(),
  system_fingerprint: t.String(),
  choices: t.Array(
    t.Object({
      index: t.Integer(),
      message: t.Object({
        role: t.Literal("assistant"),
        content: t.Nullable(t.String()),
        refusal: t.Null(),
        reasoning_content: t.Optional(t.String()),
        reasoning: t.Optional(t.String()),
        tool_calls: t.Optional(t.Array(ToolCallT)),
        function_call: t.Optional(FunctionCallT),
      }),
      logprobs: Logprobs,
      finish_reason: FinishReason,
    }),
  ),
  usage: Usage,
  conversation: t.Optional(ConversationName),
  rag_context: t.Optional(RagContext),
});
export type ChatCompletionT = Static<typeof ChatCompletion>;

export const ChatCompletionChunk = t.Object(
  {
    id: t.String(),
    object: t.Literal("chat.completion.chunk"),
    created: t.Integer(),
    model: t.String(),
    system_fingerprint: t.String(),
    choices: t.Array(
      t.Object({
        index: t.Integer(),
        delta: t.Object({
          role: t.Optional(t.Literal("assistant")),
          content: t.Optional(t.Nullable(t.String())),
          reasoning_content: t.Optional(t.String()),
          reasoning: t.Optional(t.String()),
          tool_calls: t.Optional(
            t.Array(
              t.Object({
                index: t.Integer(),
                id: t.Optional(t.String()),
                type: t.Optional(t.Literal("function")),
                function: t.Object({ name: t.Optional(t.String()), arguments: t.String() }),
              }),
            ),
          ),
          function_call: t.Optional(t.Object({ name: t.Optional(t.String()), arguments: t.String() })),
        }),
        logprobs: t.Optional(Logprobs),
        finish_reason: t.Nullable(FinishReason),
      }),
    ),
    usage: t.Optional(t.Nullable(Usage)),
    conversation: t.Optional(ConversationName),
    rag_context: t.Optional(RagContext),
  },
  { description: "One `data:` event of a streamed chat completion (the stream ends with `data: [DONE]`)" },
);
export type ChatCompletionChunkT = Static<typeof ChatCompletionChunk>;

export const Model = t.Object({
  id: t.String(),
  object: t.Literal("model"),
  created: t.Integer(),
  owned_by: t.String(),
  context_length: t.Integer({ description: "Hearth extension: the model's trained context length" }),
  capabilities: t.Array(t.String(), { description: "Hearth extension: completion, tools, thinking, embedding, insert, vision, rerank" }),
});

export type ModelT = Static<typeof Model>;

export const ModelList = t.Object({ object: t.Literal("list"), data: t.Array(Model) });

/** A chat completion kept with `store: true`: as it was answered, with the request's metadata (updatable). */
export const StoredChatCompletion = t.Composite([ChatCompletion, t.Object({ metadata: Metadata })]);
export type StoredChatCompletionT = Static<typeof StoredChatCompletion>;

const firstLast = {
  first_id: t.Nullable(t.String({ description: "null when data is empty" })),
  last_id: t.Nullable(t.String({ description: "null when data is empty" })),
  has_more: t.Boolean(),
};

export const ChatCompletionList = t.Object({ object: t.Literal("list"), data: t.Array(StoredChatCompletion), ...firstLast });

/** A message of a stored completion's request, as OpenAI lists them. */
export const StoredChatMessage = t.Object({
  id: t.String({ description: "`{completion_id}-{index}`: the message's place in the request" }),
  role: t.Union([t.Literal("system"), t.Literal("developer"), t.Literal("user"), t.Literal("assistant"), t.Literal("tool"), t.Literal("function")]),
  content: t.Nullable(t.String({ description: "The text; text parts joined by newlines" })),
  refusal: t.Null(),
  name: t.Optional(t.String()),
  tool_calls: t.Optional(t.Array(ToolCallT)),
  function_call: t.Optional(FunctionCallT),
  tool_call_id: t.Optional(t.String()),
  content_parts: t.Nullable(t.Array(TextPart, { description: "The parts, when the content was sent as parts" })),
});
export type StoredChatMessageT = Static<typeof StoredChatMessage>;

export const ChatCompletionMessageList = t.Object({ object: t.Literal("list"), data: t.Array(StoredChatMessage), ...firstLast });

export const ChatCompletionDeleted = t.Object({ object: t.Literal("chat.completion.deleted"), id: t.String(), deleted: t.Literal(true) });
