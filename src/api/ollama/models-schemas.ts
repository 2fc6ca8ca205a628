import { t, type Static } from "elysia";
import { ModelDetails } from "./model-details.ts";

const Capabilities = t.Array(t.String(), { description: "completion, tools, thinking, embedding, insert, vision, rerank" });
const Timestamp = t.String({ format: "date-time", description: "RFC 3339: the file's modification time" });
const ModelName = (description: string) => t.String({ description });

const ListedModel = t.Object({
  name: t.String({ description: 'Always "name:tag": a model named without a tag is listed as "name:latest"' }),
  model: t.String({ description: "The same as name" }),
  modified_at: Timestamp,
  size: t.Integer({ description: "Bytes of the GGUF file" }),
  digest: t.String({ description: "SHA-256 of the GGUF file, hex" }),
  details: ModelDetails,
  capabilities: Capabilities,
});

export const TagsResponse = t.Object({ models: t.Array(ListedModel, { description: "Most recently modified first" }) });
export type TagsResponseT = Static<typeof TagsResponse>;

export const ShowRequest = t.Object(
  {
    model: t.Optional(ModelName("The model, with or without its tag")),
    name: t.Optional(ModelName("Deprecated spelling of model")),
    verbose: t.Optional(t.Boolean({ description: "Include the long arrays of model_info (tokenizer.ggml.tokens, …) and the tensors" })),
  },
  { description: "Unknown fields are ignored; fields of the wrong type are a 400." },
);

const Tensor = t.Object({ name: t.String(), type: t.String({ description: 'ggml type, e.g. "Q8_0"' }), shape: t.Array(t.Integer()) });

export const ShowResponse = t.Object({
  license: t.String({ description: "A stored model's license layers, else general.license of the GGUF; empty when it declares none" }),
  modelfile: t.String({ description: "A Modelfile that rebuilds the model: FROM the GGUF file (a stored model's blob), TEMPLATE, SYSTEM, PARAMETER, LICENSE and MESSAGE lines" }),
  parameters: t.String({ description: 'One "name value" line per parameter: a stored model\'s params layer, else the stop tokens that end generation' }),
  template: t.String({ description: "A stored model's Go template layer (shown, not used: chats are formatted with the GGUF's own chat template), else the GGUF's chat template (Jinja)" }),
  system: t.String({ description: "The default system prompt: a pulled or created model's system layer; empty for a plain GGUF file" }),
  messages: t.Optional(t.Array(t.Object({ role: t.String(), content: t.String() }), { description: "A created model's conversation (Modelfile MESSAGE), placed before every chat's messages" })),
  details: ModelDetails,
  model_info: t.Record(t.String(), t.Unknown(), {
    description:
      'The GGUF key/values by their dotted keys ("general.architecture", "qwen3.context_length", …). Without verbose, arrays longer than 5 are sent empty, as Ollama does.',
  }),
  tensors: t.Optional(t.Array(Tensor, { description: "Only with verbose" })),
  capabilities: Capabilities,
  modified_at: Timestamp,
});
export type ShowResponseT = Static<typeof ShowResponse>;

export const CopyRequest = t.Object({
  source: ModelName("An existing model"),
  destination: ModelName('The new name: "name" or "name:tag", with optional "namespace/" parts; letters, digits, "_", "." and "-"'),
});

export const DeleteRequest = t.Object({
  model: t.Optional(ModelName("The model to delete")),
  name: t.Optional(ModelName("Deprecated spelling of model (the ollama JavaScript client still sends it)")),
});
