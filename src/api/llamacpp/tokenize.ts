import { Elysia, t } from "elysia";
import type { Engine } from "../../engine/engine.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";

const ModelField = t.Optional(
  t.String({
    description: "Hearth serves many models where llama.cpp serves one: the model whose tokenizer to use. Absent: the only model loaded, or else the only model available (a 400 when that is ambiguous)",
  }),
);

const TokenizeRequest = t.Object({
  model: ModelField,
  content: t.String({ description: "The text to tokenize" }),
  add_special: t.Optional(t.Boolean({ default: false, description: "Insert the special tokens the model adds around a text (BOS; EOS where the model wants one)" })),
  parse_special: t.Optional(t.Boolean({ default: true, description: "Read special-token text such as `<|im_start|>` as those tokens; false tokenizes it as plain text" })),
  with_pieces: t.Optional(t.Boolean({ default: false, description: "Return `{id, piece}` objects instead of bare ids" })),
});

const Piece = t.Object({
  id: t.Integer(),
  piece: t.Union([t.String(), t.Array(t.Integer())], { description: "The token's text; its bytes when they are not valid UTF-8 alone (part of a character)" }),
});

const TokenizeResponse = t.Object({ tokens: t.Union([t.Array(t.Integer()), t.Array(Piece)]) });

const DetokenizeRequest = t.Object({ model: ModelField, tokens: t.Array(t.Integer(), { description: "Token ids of the model's vocabulary" }) });
const DetokenizeResponse = t.Object({ content: t.String() });

/** llama.cpp server's tokenizer routes, with a `model` field since Hearth serves more than one model. */
export function llamacppRoutes(engine: Engine) {
  return new Elysia({ ...ROUTE_CONFIG, name: "llamacpp", detail: { tags: ["llama.cpp"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/tokenize",
      async ({ body, request }) => {
        const { tokens } = await engine.tokens.tokenize({
          model: body.model,
          text: body.content,
          addSpecial: body.add_special ?? false,
          parseSpecial: body.parse_special ?? true,
          signal: request.signal,
        });
        return { tokens: body.with_pieces ? tokens : tokens.map((token) => token.id) };
      },
      {
        parse: "json",
        body: TokenizeRequest,
        response: { 200: TokenizeResponse, 400: OpenAIError, 404: OpenAIError, 507: OpenAIError },
        detail: {
          summary: "Tokenize text",
          description: "llama.cpp-compatible: `{content}` → `{tokens: [ids]}`, or with `with_pieces` `{tokens: [{id, piece}]}`. No chat template is applied.",
        },
      },
    )
    .post(
      "/detokenize",
      async ({ body, request }) => ({ content: (await engine.tokens.detokenize({ model: body.model, tokens: body.tokens, signal: request.signal })).text }),
      {
        parse: "json",
        body: DetokenizeRequest,
        response: { 200: DetokenizeResponse, 400: OpenAIError, 404: OpenAIError, 507: OpenAIError },
        detail: { summary: "Detokenize token ids", description: "llama.cpp-compatible: `{tokens}` → `{content}`, special tokens written out." },
      },
    );
}
