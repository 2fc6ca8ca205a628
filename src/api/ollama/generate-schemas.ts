import { t, type Static } from "elysia";
import { SharedFields, Stats } from "./generation.ts";

export const GenerateRequest = t.Object(
  {
    ...SharedFields,
    prompt: t.Optional(t.Nullable(t.String({ description: "Empty or absent only loads (or, with keep_alive 0, unloads) the model" }))),
    suffix: t.Optional(t.Nullable(t.String({ description: "Fill-in-the-middle: the text after the answer; needs a model with the `insert` capability" }))),
    system: t.Optional(t.Nullable(t.String({ description: "A system message before the prompt" }))),
    template: t.Optional(
      t.Nullable(
        t.String({
          description:
            "A prompt template instead of the model's: a Go template using only {{ .System }}, {{ .Prompt }}, {{ .Response }} and if/else/end " +
            "(rendered as is, thinking not split off), or a Jinja chat template ({% … %})",
        }),
      ),
    ),
    raw: t.Optional(t.Nullable(t.Boolean({ description: "The prompt goes to the model as is: no template, no system; no context is returned" }))),
    context: t.Optional(
      t.Nullable(t.Array(t.Integer({ minimum: 0 }), { description: "The context of an earlier answer: its tokens come before this prompt, to continue the conversation" })),
    ),
    images: t.Optional(t.Nullable(t.Array(t.String(), { description: "Base64 images; refused with a 400, no loadable model has vision" }))),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type GenerateRequestT = Static<typeof GenerateRequest>;

export const GenerateResponse = t.Object(
  {
    model: t.String(),
    created_at: t.String({ format: "date-time" }),
    response: t.String(),
    thinking: t.Optional(t.String()),
    done: t.Boolean(),
    context: t.Optional(t.Array(t.Integer(), { description: "The prompt's and the answer's tokens, to pass back as context; not with raw" })),
    ...Stats,
  },
  {
    description:
      "The answer (stream: false), or one line of the NDJSON stream: pieces of the response or thinking with done false, " +
      "then a final object with an empty response, done true, the statistics and the context.",
  },
);
export type GenerateResponseT = Static<typeof GenerateResponse>;
