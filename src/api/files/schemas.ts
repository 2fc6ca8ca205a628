import { t } from "elysia";
import { FILE_PURPOSES } from "../../store/files.ts";

/** OpenAI's Files API (`/v1/files`): the objects Hearth answers with, in OpenAI's shapes. */

export const MAX_FILES_PAGE = 10_000;

export const FileObject = t.Object({
  id: t.String(),
  object: t.Literal("file"),
  bytes: t.Integer(),
  created_at: t.Integer({ description: "Unix seconds" }),
  filename: t.String(),
  purpose: t.Union([t.Literal("assistants"), t.Literal("user_data")]),
  status: t.Literal("processed", { description: "Deprecated by OpenAI; always processed: a file is kept whole or not at all" }),
});

export const FileList = t.Object({
  object: t.Literal("list"),
  data: t.Array(FileObject),
  first_id: t.Nullable(t.String({ description: "null when data is empty" })),
  last_id: t.Nullable(t.String({ description: "null when data is empty" })),
  has_more: t.Boolean(),
});

export const DeletedFile = t.Object({ id: t.String(), object: t.Literal("file"), deleted: t.Literal(true) });

export const FileParams = t.Object({ file_id: t.String() });

export const ListFilesQuery = t.Object({
  purpose: t.Optional(t.String({ description: "Only files of this purpose" })),
  // Checked in the route: query numbers are coerced before the schema sees them, and a bound's failure would name no field.
  limit: t.Optional(t.Integer({ description: `1 to ${MAX_FILES_PAGE}; default ${MAX_FILES_PAGE}` })),
  order: t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")], { description: "By creation; default desc: newest first" })),
  after: t.Optional(t.String({ description: "A file id: the page starts after it" })),
});

/** The upload's form, for the OpenAPI document: the route reads the body as a stream, not through a schema. */
export const UPLOAD_FORM = {
  type: "object" as const,
  required: ["file", "purpose"],
  properties: {
    file: { type: "string" as const, format: "binary", description: "The file's bytes, with its name in the part's filename" },
    purpose: { type: "string" as const, enum: [...FILE_PURPOSES] },
  },
};
