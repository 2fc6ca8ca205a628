import { t, type Static } from "elysia";

const TokenIds = t.Array(t.Integer({ minimum: 0 }), { minItems: 1 });

export const CompletionRequest = t.Object(
  {
    model: t.String({ description: "A model name from GET /v1/models" }),
    prompt: t.Nullable(
      t.Union([t.String(), t.Array(t.String(), { minItems: 1 }), TokenIds, t.Array(TokenIds, { minItems: 1 })], {
        description:
          "The raw prompt, no chat template: a string, strings (one set of choices each), token ids, or arrays of token ids. " +
          "Special-token text such as `<|im_start|>` is parsed. An empty or null prompt starts a new document.",
      }),
    ),
    suffix: t.Optional(t.Nullable(t.String({ description: "Fill-in-the-middle: the text after the completion; needs a model with the `insert` capability" }))),
    echo: t.Optional(t.Nullable(t.Boolean({ description: "Start each choice's text with its prompt" }))),
    max_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 0, description: "Default 16; capped at the room left in the context; 0 generates nothing (with echo and logprobs: scores the prompt)" }))),
    temperature: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 2, description: "Default 1" }))),
    top_p: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1, description: "Default 1" }))),
    n: t.Optional(t.Nullable(t.Integer({ minimum: 1, maximum: 128, description: "Completions per prompt; choice index = prompt index × n + i, each with its own seed (seed + index)" }))),
    stop: t.Optional(t.Nullable(t.Union([t.String(), t.Array(t.String(), { minItems: 1, maxItems: 4 })]))),
    seed: t.Optional(t.Nullable(t.Integer())),
    presence_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
    frequency_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
    logit_bias: t.Optional(
      t.Nullable(
        t.Record(t.String({ pattern: "^[0-9]+$" }), t.Number({ minimum: -100, maximum: 100 }), {
          description: "Token id (as a string) → bias added to its logit; -100 bans the token",
        }),
      ),
    ),
    logprobs: t.Optional(
      t.Nullable(
        t.Integer({
          minimum: 0,
          maximum: 5,
          description: "Return each token's log probability under the model itself (before temperature, top_p, penalties and logit_bias) and this many most likely alternatives",
        }),
      ),
    ),
    best_of: t.Optional(
      t.Nullable(t.Integer({ minimum: 0, maximum: 20, description: "Accepted up to n (every candidate is returned); ranking more candidates than n is not supported" })),
    ),
    stream: t.Optional(t.Nullable(t.Boolean())),
    stream_options: t.Optional(t.Nullable(t.Object({ include_usage: t.Optional(t.Boolean()) }))),
    user: t.Optional(t.String({ description: "Accepted and ignored" })),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type CompletionRequestT = Static<typeof CompletionRequest>;

const LegacyLogprobs = t.Object({
  tokens: t.Array(t.String()),
  token_logprobs: t.Array(t.Nullable(t.Number())),
  top_logprobs: t.Array(t.Nullable(t.Record(t.String(), t.Number()))),
  text_offset: t.Array(t.Integer({ description: "Offset of the token in prompt + text, as OpenAI reports it" })),
});
export type LegacyLogprobsT = Static<typeof LegacyLogprobs>;

const CompletionChoice = t.Object({
  text: t.String(),
  index: t.Integer(),
  logprobs: t.Nullable(LegacyLogprobs),
  finish_reason: t.Nullable(t.Union([t.Literal("stop"), t.Literal("length")])),
});

const CompletionUsage = t.Object({
  prompt_tokens: t.Integer(),
  completion_tokens: t.Integer(),
  total_tokens: t.Integer(),
  prompt_tokens_details: t.Object({ cached_tokens: t.Integer() }),
});
export type CompletionUsageT = Static<typeof CompletionUsage>;

export const Completion = t.Object(
  {
    id: t.String(),
    object: t.Literal("text_completion"),
    created: t.Integer(),
    model: t.String(),
    system_fingerprint: t.String(),
    choices: t.Array(CompletionChoice),
    usage: t.Optional(t.Nullable(CompletionUsage)),
  },
  { description: "A completion, or with `stream: true` one `data:` event of the stream (same shape; finish_reason is null until a choice ends)" },
);
export type CompletionT = Static<typeof Completion>;
