import { t, type Static } from "elysia";

/** Anthropic's error envelope; `request_id` repeats the `request-id` header. */
export const AnthropicError = t.Object(
  {
    type: t.Literal("error"),
    error: t.Object({
      type: t.String({ examples: ["invalid_request_error", "not_found_error", "overloaded_error"] }),
      message: t.String(),
    }),
    request_id: t.Nullable(t.String()),
  },
  { $id: "#/components/schemas/AnthropicError" },
);
export type AnthropicErrorT = Static<typeof AnthropicError>;

const Ignored = (description = "Accepted and ignored") => t.Optional(t.Unknown({ description }));

const TextBlock = t.Object({
  type: t.Literal("text"),
  text: t.String(),
  cache_control: Ignored("Accepted and ignored: Hearth reuses any cached prefix by itself"),
  citations: Ignored(),
});

const ImageBlock = t.Object(
  { type: t.Literal("image"), source: t.Unknown(), cache_control: Ignored() },
  { description: "Refused with a 400 naming the block: no model Hearth can load reads images yet" },
);

const DocumentBlock = t.Object(
  { type: t.Literal("document"), source: t.Unknown(), title: t.Optional(t.Nullable(t.String())), context: t.Optional(t.Nullable(t.String())), cache_control: Ignored(), citations: Ignored() },
  { description: "Refused with a 400 naming the block, like images" },
);

const ToolUseBlock = t.Object({
  type: t.Literal("tool_use"),
  id: t.String(),
  name: t.String(),
  input: t.Record(t.String(), t.Unknown(), { description: "The call's arguments" }),
  cache_control: Ignored(),
});

const ToolResultBlock = t.Object({
  type: t.Literal("tool_result"),
  tool_use_id: t.String({ description: "The id of the tool_use block in the previous assistant message that this answers" }),
  content: t.Optional(t.Union([t.String(), t.Array(t.Union([TextBlock, ImageBlock, DocumentBlock]))])),
  is_error: t.Optional(t.Boolean({ description: "The tool failed; `content` says why" })),
  cache_control: Ignored(),
});

const ThinkingBlock = t.Object(
  { type: t.Literal("thinking"), thinking: t.String(), signature: t.String() },
  { description: "Earlier thinking, sent back as it was returned; any signature is accepted" },
);

const RedactedThinkingBlock = t.Object({ type: t.Literal("redacted_thinking"), data: t.String() }, { description: "Accepted and skipped: Hearth never redacts" });

const ContentBlock = t.Union([TextBlock, ImageBlock, DocumentBlock, ToolUseBlock, ToolResultBlock, ThinkingBlock, RedactedThinkingBlock]);
export type ContentBlockT = Static<typeof ContentBlock>;

const Message = t.Union([
  t.Object({ role: t.Literal("user"), content: t.Union([t.String(), t.Array(ContentBlock)]) }),
  t.Object({ role: t.Literal("assistant"), content: t.Union([t.String(), t.Array(ContentBlock)]) }),
  t.Object({ role: t.Literal("system"), content: t.Union([t.String(), t.Array(TextBlock)]) }, { description: "A system message in the conversation" }),
]);
export type MessageParamT = Static<typeof Message>;

const Tool = t.Object(
  {
    type: t.Optional(
      t.String({
        description:
          'Absent or "custom" for a client tool. Server tools (web_search_20250305, bash_20250124, text_editor_*, code_execution_*, …) cannot be run by Hearth and are refused with a 400 naming them',
      }),
    ),
    name: t.String({ pattern: "^[a-zA-Z0-9_-]{1,128}$" }),
    description: t.Optional(t.String()),
    input_schema: t.Optional(
      t.Record(t.String(), t.Unknown(), {
        description: "JSON schema of the input object; enforced while the call is generated (a schema that cannot be enforced is a 400 naming tools.N.input_schema)",
      }),
    ),
    cache_control: Ignored(),
    strict: Ignored("Accepted and ignored: the input always follows input_schema"),
  },
  { additionalProperties: true },
);
export type ToolT = Static<typeof Tool>;

const DisableParallel = t.Optional(t.Boolean({ description: "true ⇒ at most one call (auto), exactly one (any, tool)" }));
const ToolChoice = t.Union([
  t.Object({ type: t.Literal("auto"), disable_parallel_tool_use: DisableParallel }),
  t.Object({ type: t.Literal("any"), disable_parallel_tool_use: DisableParallel }),
  t.Object({ type: t.Literal("tool"), name: t.String(), disable_parallel_tool_use: DisableParallel }),
  t.Object({ type: t.Literal("none") }),
]);

const Thinking = t.Union(
  [
    t.Object({
      type: t.Literal("enabled"),
      budget_tokens: t.Integer({ minimum: 0, description: "The most tokens thinking may take" }),
      display: Ignored(),
    }),
    t.Object({ type: t.Literal("disabled") }),
    t.Object({ type: t.Literal("adaptive"), display: Ignored() }),
  ],
  { description: "enabled/adaptive switch the model's thinking on, disabled off; absent keeps the model's default" },
);

const System = t.Union([t.String(), t.Array(TextBlock)], { description: "A string or text blocks (joined by newlines)" });

/** What /v1/messages and /v1/messages/count_tokens both read. */
const PromptFields = {
  model: t.String({ description: "A model name from GET /v1/models" }),
  messages: t.Array(Message, { minItems: 1 }),
  system: t.Optional(System),
  tools: t.Optional(t.Array(Tool)),
  tool_choice: t.Optional(ToolChoice),
  thinking: t.Optional(Thinking),
  output_config: t.Optional(
    t.Object(
      {
        format: t.Optional(t.Nullable(t.Object({ type: t.Literal("json_schema"), schema: t.Record(t.String(), t.Unknown()) }))),
        effort: Ignored(),
      },
      { description: "`format` constrains the answer to a JSON schema (not together with tools); `effort` is ignored" },
    ),
  ),
};

export const MessagesRequest = t.Object(
  {
    ...PromptFields,
    max_tokens: t.Integer({ minimum: 1, description: "Upper bound on generated tokens, thinking included" }),
    stop_sequences: t.Optional(t.Array(t.String())),
    stream: t.Optional(t.Boolean()),
    temperature: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    top_p: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    top_k: t.Optional(t.Integer({ minimum: 0 })),
    metadata: t.Optional(t.Object({ user_id: t.Optional(t.Nullable(t.String())) }, { description: "Accepted and ignored" })),
    service_tier: Ignored(),
  },
  { description: "Anthropic's Messages API. Unknown fields (container, mcp_servers, context_management, …) are ignored; fields of the wrong type are a 400 naming them." },
);
export type MessagesRequestT = Static<typeof MessagesRequest>;

export const CountTokensRequest = t.Object(PromptFields, {
  description: "The same body as POST /v1/messages; generation fields (max_tokens, stream, sampling) are not needed and are ignored.",
});
export type CountTokensRequestT = Static<typeof CountTokensRequest>;

export const TokenCount = t.Object({
  input_tokens: t.Integer({ description: "The prompt's tokens as POST /v1/messages renders it: input_tokens + cache_read_input_tokens of the same request" }),
});

const Usage = t.Object({
  input_tokens: t.Integer({ description: "Prompt tokens evaluated for this request" }),
  output_tokens: t.Integer({ description: "Generated tokens, thinking included" }),
  cache_creation_input_tokens: t.Integer({ description: "Always 0: Hearth caches every prompt without being asked" }),
  cache_read_input_tokens: t.Integer({ description: "Prompt tokens reused from the sequence's cache (not in input_tokens)" }),
});
export type UsageT = Static<typeof Usage>;

const TextOut = t.Object({ type: t.Literal("text"), text: t.String(), citations: t.Null() });
const ThinkingOut = t.Object({ type: t.Literal("thinking"), thinking: t.String(), signature: t.String({ description: "Opaque; send the block back unchanged" }) });
const ToolUseOut = t.Object({ type: t.Literal("tool_use"), id: t.String({ examples: ["toolu_01A09q90qw90lq917835lq9"] }), name: t.String(), input: t.Record(t.String(), t.Unknown()) });
const ContentOut = t.Union([ThinkingOut, TextOut, ToolUseOut]);
export type ContentOutT = Static<typeof ContentOut>;

export const StopReason = t.Union([t.Literal("end_turn"), t.Literal("max_tokens"), t.Literal("stop_sequence"), t.Literal("tool_use")]);
export type StopReasonT = Static<typeof StopReason>;

export const AnthropicMessage = t.Object({
  id: t.String({ examples: ["msg_013Zva2CMHLNnXjNJJKqJ2EF"] }),
  type: t.Literal("message"),
  role: t.Literal("assistant"),
  model: t.String(),
  content: t.Array(ContentOut),
  stop_reason: StopReason,
  stop_sequence: t.Nullable(t.String({ description: "The stop_sequences entry that ended the answer" })),
  usage: Usage,
});
export type MessageT = Static<typeof AnthropicMessage>;
