import { t, type Static } from "elysia";
import { Metadata } from "./metadata.ts";

/**
 * OpenAI's Conversations API (`/v1/conversations`): the requests as Hearth reads them (unknown
 * fields are ignored) and the objects it answers with, in OpenAI's shapes.
 */

export const MAX_ITEMS_PER_REQUEST = 20;

const Role = t.Union([t.Literal("user"), t.Literal("assistant"), t.Literal("system"), t.Literal("developer")]);

const InputTextPart = t.Object({ type: t.Literal("input_text"), text: t.String() });
const OutputTextPart = t.Object({ type: t.Literal("output_text"), text: t.String() });
const RefusalPart = t.Object({ type: t.Literal("refusal"), refusal: t.String() });

const MessageInput = t.Object(
  {
    type: t.Optional(t.Literal("message")),
    role: Role,
    content: t.Union([t.String(), t.Array(t.Union([InputTextPart, OutputTextPart, RefusalPart]))], {
      description: "A string, or text parts (input_text, output_text, refusal); images and files are not kept, since no model Hearth loads reads them",
    }),
  },
  { description: "A message; a string content becomes one input_text part (output_text for the assistant)" },
);

const FunctionCallInput = t.Object(
  { type: t.Literal("function_call"), call_id: t.String(), name: t.String(), arguments: t.String({ description: "JSON-encoded arguments" }) },
  { description: "A call the model made" },
);

const FunctionCallOutputInput = t.Object(
  {
    type: t.Literal("function_call_output"),
    call_id: t.String({ description: "The call_id of the function_call this answers" }),
    output: t.Union([t.String(), t.Array(InputTextPart)]),
  },
  { description: "A function call's result" },
);

const SummaryTextPart = t.Object({ type: t.Literal("summary_text"), text: t.String() });
const ReasoningTextPart = t.Object({ type: t.Literal("reasoning_text"), text: t.String() });

const ReasoningInput = t.Object(
  { type: t.Literal("reasoning"), summary: t.Optional(t.Array(SummaryTextPart)), content: t.Optional(t.Array(ReasoningTextPart)) },
  { description: "The model's thinking: its reasoning_text content, else its summary, is put back in the prompt" },
);

const InputItem = t.Union([MessageInput, FunctionCallInput, FunctionCallOutputInput, ReasoningInput], {
  description: "Ids sent with an item are ignored: each item gets a new one (msg_, fc_, fco_, rs_)",
});
export type InputItemT = Static<typeof InputItem>;

const InputItems = t.Array(InputItem, { maxItems: MAX_ITEMS_PER_REQUEST, description: `At most ${MAX_ITEMS_PER_REQUEST} items at a time` });

export const CreateConversationBody = t.Object({
  metadata: t.Optional(t.Nullable(Metadata)),
  items: t.Optional(t.Nullable(InputItems)),
});
export type CreateConversationBodyT = Static<typeof CreateConversationBody>;

export const UpdateConversationBody = t.Object({ metadata: t.Nullable(Metadata, { description: "Replaces the metadata; null clears it" }) });

export const CreateItemsBody = t.Object({ items: InputItems });

export const ConversationParams = t.Object({ conversation_id: t.String() });
export const ItemParams = t.Object({ conversation_id: t.String(), item_id: t.String() });

const Include = t.Optional(t.Array(t.String(), { description: "Accepted and ignored: items are always returned whole" }));

export const IncludeQuery = t.Object({ include: Include });

/** limit is checked in `pageLimit`: query numbers are coerced before the schema sees them, and a bound's failure would name no field. */
export const Limit = t.Optional(t.Integer({ description: "1 to 100; default 20" }));

export const ListItemsQuery = t.Object({
  after: t.Optional(t.String({ description: "An item id: the page starts after it" })),
  limit: Limit,
  order: t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")], { description: "default desc: newest first" })),
  include: Include,
});

export const Conversation = t.Object({
  id: t.String(),
  object: t.Literal("conversation"),
  created_at: t.Integer({ description: "Unix seconds" }),
  metadata: Metadata,
});
export type ConversationT = Static<typeof Conversation>;

export const DeletedConversation = t.Object({ id: t.String(), object: t.Literal("conversation.deleted"), deleted: t.Literal(true) });

// Items are answered as stored, and the Responses API stores them too: fields beyond these are kept, not stripped.
const open = { additionalProperties: t.Unknown() };
const status = t.Literal("completed");

const StoredMessage = t.Object(
  {
    type: t.Literal("message"),
    id: t.String(),
    role: Role,
    status,
    content: t.Array(
      t.Union([
        t.Object({ type: t.Literal("input_text"), text: t.String() }, open),
        t.Object({ type: t.Literal("output_text"), text: t.String(), annotations: t.Array(t.Unknown()), logprobs: t.Array(t.Unknown()) }, open),
        t.Object({ type: t.Literal("refusal"), refusal: t.String() }, open),
      ]),
    ),
  },
  open,
);

const StoredFunctionCall = t.Object({ type: t.Literal("function_call"), id: t.String(), call_id: t.String(), name: t.String(), arguments: t.String(), status }, open);

const StoredFunctionCallOutput = t.Object(
  { type: t.Literal("function_call_output"), id: t.String(), call_id: t.String(), output: t.Union([t.String(), t.Array(t.Object({ type: t.Literal("input_text"), text: t.String() }, open))]), status },
  open,
);

const StoredReasoning = t.Object(
  { type: t.Literal("reasoning"), id: t.String(), summary: t.Array(t.Object({ type: t.Literal("summary_text"), text: t.String() }, open)), content: t.Optional(t.Array(t.Object({ type: t.Literal("reasoning_text"), text: t.String() }, open))) },
  open,
);

const OtherItem = t.Object({ type: t.String(), id: t.String() }, { ...open, description: "An item of another type, stored by the Responses API" });

export const ConversationItem = t.Union([StoredMessage, StoredFunctionCall, StoredFunctionCallOutput, StoredReasoning, OtherItem]);

export const ConversationItemList = t.Object({
  object: t.Literal("list"),
  data: t.Array(ConversationItem),
  first_id: t.Nullable(t.String({ description: "null when data is empty" })),
  last_id: t.Nullable(t.String({ description: "null when data is empty" })),
  has_more: t.Boolean(),
});
