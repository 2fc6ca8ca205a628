import { t, type Static } from "elysia";
import { RagContext, RagParams } from "../rag-params.ts";
import { SharedFields, Stats } from "./generation.ts";

const Arguments = t.Record(t.String(), t.Unknown(), { description: "The arguments as a JSON object (not a string)" });

const ToolCall = t.Object({
  id: t.Optional(t.String({ description: "call_ and 8 characters; a tool message may answer it by tool_call_id" })),
  type: t.Optional(t.String()),
  function: t.Object({
    index: t.Optional(t.Integer({ description: "The call's position among the answer's calls" })),
    name: t.String(),
    arguments: Arguments,
  }),
});
export type ToolCallT = Static<typeof ToolCall>;

const Message = t.Object({
  role: t.Union([t.Literal("system"), t.Literal("user"), t.Literal("assistant"), t.Literal("tool")]),
  content: t.Optional(t.String()),
  thinking: t.Optional(t.String({ description: "An assistant message's reasoning" })),
  images: t.Optional(t.Nullable(t.Array(t.String(), { description: "Base64 images; refused with a 400, no loadable model has vision" }))),
  tool_calls: t.Optional(t.Nullable(t.Array(ToolCall))),
  tool_name: t.Optional(t.String({ description: "A tool message: the function whose result this is" })),
  tool_call_id: t.Optional(t.String({ description: "A tool message: the id of the call it answers" })),
});
export type ChatMessageT = Static<typeof Message>;

const Tool = t.Object({
  type: t.Optional(t.String({ description: '"function"' })),
  function: t.Object({
    // Looser than OpenAI's [a-zA-Z0-9_-]{1,64}, as Ollama is; but the grammar that makes the model
    // write the name cannot hold an empty one, whitespace or control characters.
    name: t.String({ pattern: "^[^\\s\\x00-\\x1f\\x7f-\\x9f]+$", description: "Not empty; no whitespace or control characters" }),
    description: t.Optional(t.String()),
    parameters: t.Optional(t.Record(t.String(), t.Unknown(), { description: "JSON schema of the arguments object" })),
  }),
});

export const ChatRequest = t.Object(
  {
    ...SharedFields,
    messages: t.Optional(t.Nullable(t.Array(Message, { description: "The conversation; empty or absent only loads (or, with keep_alive 0, unloads) the model" }))),
    tools: t.Optional(t.Nullable(t.Array(Tool))),
    rag_params: t.Optional(t.Nullable(RagParams)),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type ChatRequestT = Static<typeof ChatRequest>;

export const ChatResponse = t.Object(
  {
    model: t.String(),
    created_at: t.String({ format: "date-time" }),
    message: t.Object({
      role: t.Literal("assistant"),
      content: t.String(),
      thinking: t.Optional(t.String()),
      tool_calls: t.Optional(t.Array(ToolCall)),
    }),
    done: t.Boolean(),
    ...Stats,
    rag_context: t.Optional(RagContext),
  },
  {
    description:
      "The answer (stream: false), or one line of the NDJSON stream: pieces of content, thinking or a tool call with done false, " +
      "then a final object with an empty message, done true and the statistics. With rag_params, `rag_context` lists the chunks the model was given (streamed: on the first line).",
  },
);
export type ChatResponseT = Static<typeof ChatResponse>;
