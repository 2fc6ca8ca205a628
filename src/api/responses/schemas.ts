import { t, type Static } from "elysia";

/**
 * OpenAI's Responses API: the request's fields as Hearth reads them, the Response object it
 * answers with, and the stored items it lists. Unknown fields are ignored, as everywhere.
 */

const Role = t.Union([t.Literal("user"), t.Literal("assistant"), t.Literal("system"), t.Literal("developer")]);

const InputTextPart = t.Object({ type: t.Literal("input_text"), text: t.String() });
/** an earlier answer's text, in an assistant message sent back */
const OutputTextPart = t.Object({ type: t.Literal("output_text"), text: t.String() });
const RefusalPart = t.Object({ type: t.Literal("refusal"), refusal: t.String() });
// Accepted by the schema so that the 400 says why they cannot be used, rather than "expected input_text".
const InputImagePart = t.Object({ type: t.Literal("input_image") }, { description: "Needs a vision model: refused" });
const InputFilePart = t.Object({ type: t.Literal("input_file") }, { description: "Refused: only text is read" });
const ContentPart = t.Union([InputTextPart, OutputTextPart, RefusalPart, InputImagePart, InputFilePart]);
export type ContentPartT = Static<typeof ContentPart>;

const ItemStatus = t.Union([t.Literal("in_progress"), t.Literal("completed"), t.Literal("incomplete")]);

const MessageItem = t.Object(
  {
    type: t.Optional(t.Literal("message")),
    role: Role,
    content: t.Union([t.String(), t.Array(ContentPart)], { description: "A string, or parts: `input_text` (`output_text` in assistant messages)" }),
    id: t.Optional(t.String()),
    status: t.Optional(ItemStatus),
  },
  { description: "developer and system messages are system prompts" },
);

const FunctionCallItem = t.Object(
  {
    type: t.Literal("function_call"),
    call_id: t.String(),
    name: t.String(),
    arguments: t.String({ description: "JSON-encoded arguments" }),
    id: t.Optional(t.String()),
    status: t.Optional(ItemStatus),
  },
  { description: "A call the model made in an earlier turn" },
);

const FunctionCallOutputItem = t.Object(
  {
    type: t.Literal("function_call_output"),
    call_id: t.String({ description: "The call_id of the function_call this answers" }),
    output: t.Union([t.String(), t.Array(ContentPart)]),
    id: t.Optional(t.Nullable(t.String())),
    status: t.Optional(t.Nullable(ItemStatus)),
  },
  { description: "A function call's result" },
);

const ReasoningInputItem = t.Object(
  {
    type: t.Literal("reasoning"),
    id: t.Optional(t.String()),
    summary: t.Optional(t.Array(t.Object({ type: t.Literal("summary_text"), text: t.String() }))),
    content: t.Optional(t.Nullable(t.Array(t.Object({ type: t.Union([t.Literal("reasoning_text"), t.Literal("text")]), text: t.String() })))),
    encrypted_content: t.Optional(t.Nullable(t.String({ description: "As Hearth returned it with include: [\"reasoning.encrypted_content\"]; other servers' are ignored" }))),
    status: t.Optional(ItemStatus),
  },
  { description: "An earlier turn's thinking: its reasoning_text content, else its encrypted_content from Hearth, else its summary" },
);

const FileSearchResult = t.Object({
  file_id: t.String(),
  filename: t.String(),
  score: t.Number({ description: "The chunk's similarity to the query (0 to 1)" }),
  text: t.String({ description: "The chunk" }),
  attributes: t.Record(t.String(), t.Union([t.String(), t.Number(), t.Boolean()]), { description: "The file's attributes in its vector store" }),
});

const FileSearchCallItem = t.Object(
  {
    type: t.Literal("file_search_call"),
    id: t.String(),
    status: t.Optional(ItemStatus),
    queries: t.Array(t.String()),
    results: t.Optional(t.Nullable(t.Array(FileSearchResult))),
  },
  { description: "A search Hearth ran for an earlier turn: kept in the history, not put before the model again (the answer that followed holds what it found)" },
);

export const InputItem = t.Union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningInputItem, FileSearchCallItem]);
export type InputItemT = Static<typeof InputItem>;

const FunctionTool = t.Object({
  type: t.Literal("function"),
  name: t.String({ pattern: "^[a-zA-Z0-9_-]{1,64}$" }),
  description: t.Optional(t.Nullable(t.String())),
  parameters: t.Optional(t.Nullable(t.Record(t.String(), t.Unknown(), { description: "JSON schema of the arguments object" }))),
  strict: t.Optional(t.Nullable(t.Boolean())),
});
export type FunctionToolT = Static<typeof FunctionTool>;

/** OpenAI's file_search tool: Hearth searches the vector stores itself before the model answers. */
const FileSearchTool = t.Object(
  {
    type: t.Literal("file_search"),
    vector_store_ids: t.Array(t.String(), { description: "The vector stores searched (the caller's own)" }),
    max_num_results: t.Optional(t.Integer({ minimum: 1, maximum: 50, description: "1 to 50; default 10" })),
    filters: t.Optional(t.Nullable(t.Unknown({ description: "OpenAI's comparison or compound filter on the files' attributes" }))),
    ranking_options: t.Optional(
      t.Object({
        ranker: t.Optional(t.String({ description: "Accepted; chunks are ranked by similarity" })),
        score_threshold: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "Leave out chunks scoring below it" })),
      }),
    ),
  },
  { description: "Searched by Hearth with the last user message before generating: a file_search_call output item reports it, and the chunks found go to the model as context" },
);
export type FileSearchToolT = Static<typeof FileSearchTool>;

/** Hosted and custom tools (web_search, custom, local_shell, mcp, namespace…): Codex CLI sends them; Hearth cannot run them. */
const SkippedTool = t.Object(
  { type: t.String({ pattern: "^(?!function$|file_search$)", description: "Any type but function and file_search" }) },
  { description: "A tool Hearth cannot run (web_search, custom, local_shell, mcp, namespace, image_generation…): skipped, not offered to the model" },
);

const ToolChoice = t.Union(
  [t.Literal("none"), t.Literal("auto"), t.Literal("required"), t.Object({ type: t.Literal("function"), name: t.String() })],
  { description: 'none | auto | required | {type: "function", name}; required and named calls are grammar-enforced' },
);

const TextFormat = t.Union([
  t.Object({ type: t.Literal("text") }),
  t.Object({ type: t.Literal("json_object") }),
  t.Object({
    type: t.Literal("json_schema"),
    name: t.String(),
    description: t.Optional(t.String()),
    schema: t.Record(t.String(), t.Unknown(), { description: "Enforced by a grammar; a keyword that cannot be is a 400 naming text.format.schema" }),
    strict: t.Optional(t.Nullable(t.Boolean())),
  }),
]);
export type TextFormatT = Static<typeof TextFormat>;

const Effort = t.Union(
  ["none", "minimal", "low", "medium", "high", "xhigh", "max"].map((v) => t.Literal(v)),
  { description: "none, minimal, low ⇒ thinking off; medium, high, xhigh, max ⇒ thinking on" },
);

const Metadata = t.Object({}, { additionalProperties: t.String(), description: "Echoed in the response" });

const accepted = (description = "Accepted and ignored") => ({ description });

export const CreateResponseRequest = t.Object(
  {
    model: t.String({ description: "A model name from GET /v1/models" }),
    input: t.Optional(t.Union([t.String(), t.Array(InputItem)], { description: "A user message as a string, or input items" })),
    instructions: t.Optional(t.Nullable(t.String({ description: "A system message placed before the input" }))),
    tools: t.Optional(t.Nullable(t.Array(t.Union([FunctionTool, FileSearchTool, SkippedTool])))),
    tool_choice: t.Optional(t.Nullable(ToolChoice)),
    parallel_tool_calls: t.Optional(t.Nullable(t.Boolean({ description: "false ⇒ at most one call" }))),
    reasoning: t.Optional(
      t.Nullable(
        t.Object({
          effort: t.Optional(t.Nullable(Effort)),
          summary: t.Optional(t.Nullable(t.String(accepted("Accepted; the thinking comes back whole as reasoning_text, never summarized")))),
        }),
      ),
    ),
    text: t.Optional(t.Nullable(t.Object({ format: t.Optional(TextFormat), verbosity: t.Optional(t.Nullable(t.String(accepted()))) }))),
    max_output_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 1, description: "Upper bound on generated tokens, reasoning included" }))),
    temperature: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 2 }))),
    top_p: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1 }))),
    top_logprobs: t.Optional(t.Nullable(t.Integer({ minimum: 0, maximum: 20, description: 'Alternatives per token, with include: ["message.output_text.logprobs"]' }))),
    include: t.Optional(
      t.Nullable(
        t.Array(t.String(), {
          description: '"reasoning.encrypted_content" (reasoning items carry a copy of the thinking to send back statelessly) and "message.output_text.logprobs" are honoured; others are ignored',
        }),
      ),
    ),
    stream: t.Optional(t.Nullable(t.Boolean())),
    stream_options: t.Optional(t.Nullable(t.Object({}, accepted()))),
    store: t.Optional(
      t.Nullable(
        t.Boolean({
          description:
            "Default true: the finished response and its input items are kept, to GET, list, delete and continue with previous_response_id. false keeps nothing, a conversation's items included. A response whose client went away before it finished is never kept.",
        }),
      ),
    ),
    metadata: t.Optional(t.Nullable(Metadata)),
    truncation: t.Optional(t.Nullable(t.Union([t.Literal("auto"), t.Literal("disabled")], accepted("Echoed: a prompt longer than the context is refused either way")))),
    max_tool_calls: t.Optional(t.Nullable(t.Integer(accepted("Echoed")))),
    previous_response_id: t.Optional(
      t.Nullable(
        t.String({
          description:
            "A stored response to continue: its input items and output come before `input` (and so, recursively, its own previous responses'); its instructions do not. Unknown: a 404. Cannot be combined with conversation.",
        }),
      ),
    ),
    conversation: t.Optional(
      t.Nullable(
        t.Union([t.String({ description: "A conversation id" }), t.Object({ id: t.String() })], {
          description:
            "A conversation (from POST /v1/conversations) whose items come before `input`; once the response is finished, the input items and the output are appended to it (unless store is false). Unknown: a 404.",
        }),
      ),
    ),
    background: t.Optional(t.Nullable(t.Boolean({ description: "true is not supported: a 400; wait for the answer, or stream it" }))),
    prompt: t.Optional(t.Nullable(t.Unknown({ description: "Stored prompt templates are not supported: a 400" }))),
    user: t.Optional(t.String(accepted())),
    safety_identifier: t.Optional(t.Nullable(t.String(accepted("Echoed")))),
    prompt_cache_key: t.Optional(t.Nullable(t.String(accepted("Echoed; every request reuses the longest cached prefix anyway")))),
    prompt_cache_retention: t.Optional(t.Nullable(t.String(accepted()))),
    service_tier: t.Optional(t.Nullable(t.String(accepted()))),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type CreateResponseRequestT = Static<typeof CreateResponseRequest>;

const TopLogprob = t.Object({ token: t.String(), logprob: t.Number(), bytes: t.Array(t.Integer()) });
const LogProb = t.Composite([TopLogprob, t.Object({ top_logprobs: t.Array(TopLogprob) })]);
export type LogProbT = Static<typeof LogProb>;

const OutputTextContent = t.Object({
  type: t.Literal("output_text"),
  text: t.String(),
  annotations: t.Array(t.Unknown()),
  logprobs: t.Array(LogProb),
});
export type OutputTextContentT = Static<typeof OutputTextContent>;

const ReasoningTextContent = t.Object({ type: t.Literal("reasoning_text"), text: t.String() });

const OutputMessage = t.Object({
  type: t.Literal("message"),
  id: t.String(),
  role: t.Literal("assistant"),
  status: ItemStatus,
  content: t.Array(OutputTextContent),
});

const ReasoningOutput = t.Object({
  type: t.Literal("reasoning"),
  id: t.String(),
  summary: t.Array(t.Object({ type: t.Literal("summary_text"), text: t.String() })),
  content: t.Array(ReasoningTextContent),
  encrypted_content: t.Optional(t.String({ description: 'With include: ["reasoning.encrypted_content"]: the thinking, encoded (not encrypted), to send back in a later request' })),
  status: ItemStatus,
});

const FunctionCallOutput = t.Object({
  type: t.Literal("function_call"),
  id: t.String(),
  call_id: t.String(),
  name: t.String(),
  arguments: t.String(),
  status: ItemStatus,
});

const FileSearchCallOutput = t.Object({
  type: t.Literal("file_search_call"),
  id: t.String(),
  status: t.Union([t.Literal("in_progress"), t.Literal("searching"), t.Literal("completed")]),
  queries: t.Array(t.String()),
  results: t.Nullable(t.Array(FileSearchResult), { description: 'The chunks found, with include: ["file_search_call.results"]; null otherwise' }),
});

const OutputItem = t.Union([FileSearchCallOutput, ReasoningOutput, OutputMessage, FunctionCallOutput]);
export type OutputItemT = Static<typeof OutputItem>;

const ResponseUsage = t.Object({
  input_tokens: t.Integer(),
  input_tokens_details: t.Object({
    cached_tokens: t.Integer({ description: "Prompt tokens reused from the sequence's cache" }),
    cache_write_tokens: t.Integer({ description: "Prompt tokens evaluated, and so written to the cache" }),
  }),
  output_tokens: t.Integer(),
  output_tokens_details: t.Object({ reasoning_tokens: t.Integer() }),
  total_tokens: t.Integer(),
});
export type ResponseUsageT = Static<typeof ResponseUsage>;

const EchoedFunctionTool = t.Object({
  type: t.Literal("function"),
  name: t.String(),
  description: t.Nullable(t.String()),
  parameters: t.Nullable(t.Record(t.String(), t.Unknown())),
  strict: t.Nullable(t.Boolean()),
});

const EchoedFileSearchTool = t.Object({
  type: t.Literal("file_search"),
  vector_store_ids: t.Array(t.String()),
  max_num_results: t.Integer(),
  filters: t.Nullable(t.Unknown()),
  ranking_options: t.Object({ ranker: t.String(), score_threshold: t.Number() }),
});

export const ResponseObject = t.Object(
  {
    id: t.String(),
    object: t.Literal("response"),
    created_at: t.Integer(),
    status: t.Union([t.Literal("completed"), t.Literal("incomplete"), t.Literal("in_progress"), t.Literal("failed")]),
    completed_at: t.Nullable(t.Integer()),
    background: t.Boolean(),
    error: t.Nullable(t.Object({ code: t.String(), message: t.String() })),
    incomplete_details: t.Nullable(t.Object({ reason: t.Literal("max_output_tokens") })),
    instructions: t.Nullable(t.String()),
    max_output_tokens: t.Nullable(t.Integer()),
    max_tool_calls: t.Nullable(t.Integer()),
    model: t.String(),
    output: t.Array(OutputItem),
    parallel_tool_calls: t.Boolean(),
    previous_response_id: t.Nullable(t.String()),
    prompt_cache_key: t.Nullable(t.String()),
    reasoning: t.Object({ effort: t.Nullable(t.String()), summary: t.Nullable(t.String()) }),
    safety_identifier: t.Nullable(t.String()),
    service_tier: t.String(),
    store: t.Boolean({ description: "Whether the response is kept (the request's store, default true)" }),
    conversation: t.Nullable(t.Object({ id: t.String() }, { description: "The conversation its items were appended to" })),
    temperature: t.Nullable(t.Number()),
    text: t.Object({ format: TextFormat, verbosity: t.Optional(t.String()) }),
    tool_choice: ToolChoice,
    tools: t.Array(t.Union([EchoedFunctionTool, EchoedFileSearchTool]), { description: "The function tools offered to the model and the file_search tool Hearth ran (skipped tools are left out)" }),
    top_logprobs: t.Integer(),
    top_p: t.Nullable(t.Number()),
    truncation: t.String(),
    usage: t.Optional(ResponseUsage),
    user: t.Optional(t.String()),
    metadata: Metadata,
  },
  {
    description:
      "The model's answer. `output` holds a reasoning item (the thinking), a message, and function calls, in the order generated; status is incomplete (incomplete_details.reason max_output_tokens) when the token limit cut it short.",
  },
);
export type ResponseObjectT = Static<typeof ResponseObject>;

export const InputTokens = t.Object({
  object: t.Literal("response.input_tokens"),
  input_tokens: t.Integer({ description: "The prompt's tokens, rendered with the model's chat template and tools: the usage.input_tokens the same request to /v1/responses reports" }),
});

const InputTextContent = t.Object({ type: t.Literal("input_text"), text: t.String() });

const InputMessageResource = t.Object({
  type: t.Literal("message"),
  id: t.String(),
  role: t.Union([t.Literal("user"), t.Literal("system"), t.Literal("developer")]),
  status: ItemStatus,
  content: t.Array(InputTextContent),
});

const AssistantMessageResource = t.Object({
  type: t.Literal("message"),
  id: t.String(),
  role: t.Literal("assistant"),
  status: ItemStatus,
  content: t.Array(t.Union([OutputTextContent, RefusalPart])),
});

const FunctionCallOutputResource = t.Object({
  type: t.Literal("function_call_output"),
  id: t.String(),
  call_id: t.String(),
  output: t.Union([t.String(), t.Array(InputTextContent)]),
  status: ItemStatus,
});

/** An item as stored: a request's input item given an id (and its content as parts), or an output item. */
const ItemResource = t.Union([InputMessageResource, AssistantMessageResource, FunctionCallOutput, FunctionCallOutputResource, ReasoningOutput, FileSearchCallOutput]);
export type ItemResourceT = Static<typeof ItemResource>;

export const ResponseItemList = t.Object(
  {
    object: t.Literal("list"),
    data: t.Array(ItemResource),
    first_id: t.Nullable(t.String({ description: "null when data is empty" })),
    last_id: t.Nullable(t.String({ description: "null when data is empty" })),
    has_more: t.Boolean(),
  },
  { description: "Every item the model read, oldest first in asc order: the previous response's or the conversation's, then the request's own input" },
);

export const DeletedResponse = t.Object({ id: t.String(), object: t.Literal("response"), deleted: t.Literal(true) });

export const ResponseIdParams = t.Object({ response_id: t.String() });

const Include = t.Optional(t.Array(t.String(), { description: "Accepted; what is stored comes back as it was kept" }));

export const RetrieveResponseQuery = t.Object({
  include: Include,
  stream: t.Optional(t.Boolean({ description: "true is a 400: a stored response's events are not kept to replay" })),
  starting_after: t.Optional(t.Integer(accepted())),
  include_obfuscation: t.Optional(t.Boolean(accepted())),
});

export const InputItemsQuery = t.Object({
  after: t.Optional(t.String({ description: "An item id: list the items after it" })),
  // The range is checked by the route: a query value out of range fails Elysia's coercion with no field named.
  limit: t.Optional(t.Integer({ description: "1 to 100, default 20" })),
  order: t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")], { description: "Default desc: newest first" })),
  include: Include,
});
