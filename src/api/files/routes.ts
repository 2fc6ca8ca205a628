import { Elysia } from "elysia";
import { principalOf, ownerOf } from "../../auth/principal.ts";
import { InvalidRequestError, ObjectNotFoundError } from "../../errors.ts";
import type { Library } from "../../rag/library.ts";
import type { StoredFile } from "../../store/files.ts";
import { viewerOf } from "../../store/viewer.ts";
import { listOf } from "../conversations/pages.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { DeletedFile, FileList, FileObject, FileParams, ListFilesQuery, MAX_FILES_PAGE, UPLOAD_FORM } from "./schemas.ts";
import { FileTooLargeError, receiveUpload } from "./upload.ts";

function fileObject(file: StoredFile) {
  return { id: file.id, object: "file" as const, bytes: file.bytes, created_at: file.createdAt, filename: file.filename, purpose: file.purpose, status: "processed" as const };
}

export function fileNotFound(id: string, param = "file_id"): ObjectNotFoundError {
  return new ObjectNotFoundError(`No such File object: ${id}`, param);
}

const errors = { 400: OpenAIError, 404: OpenAIError };

/**
 * OpenAI's Files API: files uploaded for retrieval, each its uploader's (another owner's are
 * answered as missing; the admin scope sees all). Deleting a file removes it from every vector
 * store it was indexed in.
 */
export function filesRoutes(library: Library) {
  const { files } = library;
  const viewerIn = (request: Request) => viewerOf(principalOf(request));
  return new Elysia({ ...ROUTE_CONFIG, name: "files", detail: { tags: ["OpenAI"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .post(
      "/v1/files",
      async ({ request, status }) => {
        try {
          return fileObject(await receiveUpload(request, files, ownerOf(principalOf(request)), library.settings.maxFileSize));
        } catch (err) {
          if (err instanceof FileTooLargeError) return status(413, { error: { message: err.message, type: "invalid_request_error", param: "file", code: "file_too_large" } });
          throw err;
        }
      },
      {
        // The body is read as it streams, straight to disk: never parsed whole, never held whole.
        parse: "none",
        response: { 200: FileObject, ...errors, 413: OpenAIError },
        detail: {
          summary: "Upload a file",
          requestBody: { required: true, content: { "multipart/form-data": { schema: UPLOAD_FORM } } },
          description:
            "multipart/form-data with the file in a `file` part and `purpose` `assistants` or `user_data` (others are a 400): files are kept for retrieval, to be attached to vector stores. " +
            "The bytes are written to disk as they arrive, up to --max-file-size (a larger file is a 413 and nothing of it is kept); the 32 MiB limit of other requests does not apply.",
        },
      },
    )
    .get(
      "/v1/files",
      ({ query, request }) => {
        const limit = query.limit ?? MAX_FILES_PAGE;
        if (limit < 1 || limit > MAX_FILES_PAGE) throw new InvalidRequestError(`limit must be between 1 and ${MAX_FILES_PAGE}; it is ${limit}`, "limit", "invalid_value");
        const page = files.list(viewerIn(request), query.purpose, { after: query.after, limit, order: query.order ?? "desc" });
        if (!page) throw fileNotFound(query.after!, "after");
        return listOf(page.files.map(fileObject), page.hasMore);
      },
      {
        query: ListFilesQuery,
        response: { 200: FileList, ...errors },
        detail: { summary: "List files", description: "Newest first unless `order` is asc; `after` is a file id, the page starting after it." },
      },
    )
    .get(
      "/v1/files/:file_id",
      ({ params, request }) => {
        const file = files.get(viewerIn(request), params.file_id);
        if (!file) throw fileNotFound(params.file_id);
        return fileObject(file);
      },
      { params: FileParams, response: { 200: FileObject, ...errors }, detail: { summary: "Retrieve a file" } },
    )
    .get(
      "/v1/files/:file_id/content",
      ({ params, request }) => {
        const file = files.get(viewerIn(request), params.file_id);
        if (!file) throw fileNotFound(params.file_id);
        return new Response(Bun.file(files.path(file.id)), { headers: { "content-type": "application/octet-stream" } });
      },
      {
        params: FileParams,
        response: errors,
        detail: { summary: "Retrieve a file's content", description: "The bytes as uploaded (application/octet-stream), streamed from disk." },
      },
    )
    .delete(
      "/v1/files/:file_id",
      ({ params, request }) => {
        if (!library.deleteFile(viewerIn(request), params.file_id)) throw fileNotFound(params.file_id);
        return { id: params.file_id, object: "file" as const, deleted: true as const };
      },
      {
        params: FileParams,
        response: { 200: DeletedFile, ...errors },
        detail: { summary: "Delete a file", description: "Its chunks go from every vector store it was indexed in." },
      },
    );
}
