import { Busboy, type BusboyInstance } from "@fastify/busboy";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CancelledError, InvalidRequestError } from "../../errors.ts";
import { FILE_PURPOSES, type Files, type FilePurpose, type StoredFile } from "../../store/files.ts";

/** An upload whose file is past the size limit: nothing of it is kept. */
export class FileTooLargeError extends Error {}

/**
 * Receives OpenAI's file upload (multipart/form-data with a `file` part and a `purpose` field) as
 * the body streams in: the file's bytes go straight to a temporary file beside the kept ones, and
 * take the file's name only once the whole form has arrived and been accepted. A file past
 * `maxBytes`, a bad purpose, a malformed form or a client that goes away leaves nothing on disk.
 * The body is read to its end even past the limit: clients only read the answer once they have
 * sent everything.
 */
export async function receiveUpload(request: Request, files: Files, owner: string, maxBytes: number): Promise<StoredFile> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\b/i.test(type)) throw new InvalidRequestError("the body must be multipart/form-data, with the file in a `file` part and a `purpose` field", "file");
  const { id, partialPath } = files.reserve();
  let parser: BusboyInstance;
  try {
    parser = new Busboy({ headers: { "content-type": type }, limits: { files: 1, fileSize: maxBytes, fields: 16, fieldSize: 4096 } });
  } catch (err) {
    throw new InvalidRequestError(`the multipart body cannot be read: ${(err as Error).message}`, "file");
  }
  let purpose: string | undefined;
  let filename: string | undefined;
  let bytes = 0;
  let tooLarge = false;
  let written: Promise<void> | undefined;
  parser.on("field", (name: string, value: string) => {
    if (name === "purpose") purpose = value;
  });
  parser.on("file", (field: string, stream: Readable, name: string | undefined) => {
    if (field !== "file" || written) {
      stream.resume();
      return;
    }
    filename = basename((name ?? "").replaceAll("\\", "/")) || "file";
    stream.on("limit", () => (tooLarge = true));
    const out = createWriteStream(partialPath, { flags: "wx", mode: 0o600 });
    written = pipeline(stream, out).then(() => {
      bytes = out.bytesWritten;
    });
    // Awaited below; a failure before then must not count as unhandled.
    written.catch(() => {});
  });
  const finished = once(parser, "finish");
  finished.catch(() => {});
  try {
    for await (const chunk of request.body ?? []) {
      if (!parser.write(chunk)) await once(parser, "drain");
    }
    parser.end();
    await finished;
    await written;
  } catch (err) {
    parser.destroy();
    await written?.catch(() => {});
    await rm(partialPath, { force: true });
    if (request.signal.aborted) throw new CancelledError();
    throw new InvalidRequestError(`the multipart body cannot be read: ${(err as Error).message}`, "file");
  }
  try {
    if (tooLarge) throw new FileTooLargeError(`The file is larger than the server's limit of ${maxBytes} bytes (--max-file-size).`);
    if (filename === undefined) throw new InvalidRequestError("the form has no `file` part", "file");
    if (!FILE_PURPOSES.includes(purpose as FilePurpose)) {
      throw new InvalidRequestError(`purpose must be one of ${FILE_PURPOSES.join(", ")}${purpose === undefined ? "" : `, not "${purpose}"`}: Hearth keeps files for retrieval`, "purpose");
    }
    await rename(partialPath, files.path(id));
  } catch (err) {
    await rm(partialPath, { force: true });
    throw err;
  }
  return files.add({ id, owner, filename, purpose: purpose as FilePurpose, bytes, createdAt: Math.floor(Date.now() / 1000) });
}
