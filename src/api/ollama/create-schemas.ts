import { t, type Static } from "elysia";

const Files = (description: string) => t.Optional(t.Nullable(t.Record(t.String(), t.String(), { description })));

export const CreateRequest = t.Object(
  {
    model: t.Optional(t.String({ description: "The name of the model to create: `[host/][namespace/]model[:tag]`" })),
    name: t.Optional(t.String({ description: "Deprecated spelling of model" })),
    from: t.Optional(t.String({ description: "An existing model to build on: a GGUF file in the models folder (linked, not copied) or a stored model (its layers reused)" })),
    files: Files('File name → digest ("sha256:…") of a GGUF uploaded with POST /api/blobs/:digest: the model\'s weights. Safetensors cannot be converted'),
    adapters: Files("LoRA adapters: refused with a 400 (node-llama-cpp serves adapters only beside their model, which Hearth does not support)"),
    template: t.Optional(t.String({ description: "Ollama's Go prompt template (shown by /api/show; chats are formatted with the GGUF's chat template)" })),
    license: t.Optional(t.Nullable(t.Union([t.String(), t.Array(t.String())], { description: "One license or several, each a layer" }))),
    system: t.Optional(t.String({ description: "The default system prompt, used when a chat brings none" })),
    parameters: t.Optional(
      t.Nullable(
        t.Record(t.String(), t.Unknown(), {
          description: "Default options in Ollama's names and types (temperature, top_k, stop, num_ctx, …), merged over those of `from`; an unknown name or a wrong type is a 400 naming `parameters.<name>`",
        }),
      ),
    ),
    messages: t.Optional(
      t.Nullable(
        t.Array(
          t.Object({ role: t.Union([t.Literal("system"), t.Literal("user"), t.Literal("assistant")]), content: t.String() }),
          { description: "A conversation placed before every chat's messages (Modelfile MESSAGE); replaces that of `from`" },
        ),
      ),
    ),
    quantize: t.Optional(t.String({ description: "Refused with a 400 unless empty: node-llama-cpp cannot quantize" })),
    quantization: t.Optional(t.String({ description: "Deprecated spelling of quantize" })),
    renderer: t.Optional(t.String({ description: "Kept in the model's config for Ollama; Hearth formats chats with the GGUF's template" })),
    parser: t.Optional(t.String({ description: "Kept in the model's config for Ollama" })),
    requires: t.Optional(t.String({ description: "The Ollama version the model needs, kept in its config" })),
    modelfile: t.Optional(t.Unknown({ description: "Ollama's removed Modelfile text: refused with a 400 saying which fields to send instead" })),
    stream: t.Optional(t.Nullable(t.Boolean({ description: "Default true: NDJSON progress lines; false: only the last one" }))),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);
export type CreateRequestT = Static<typeof CreateRequest>;

export const CreateProgress = t.Object(
  { status: t.String({ description: '"parsing GGUF", "using existing layer sha256:…", "creating new layer sha256:…", "writing manifest", "success"' }) },
  { description: "One NDJSON line of progress" },
);
