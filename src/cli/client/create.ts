import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ClientError, type HearthClient, type ProgressResponse } from "./api.ts";
import { createRequest, type Upload } from "./create-request.ts";
import { parseModelfile } from "./modelfile.ts";
import { openProgress, type ProgressDisplay, type ProgressOutput } from "./progress.ts";
import { followProgress, shortDigest } from "./transfer-progress.ts";

/** Sends a local file to the server as a blob, unless it already has it, with a bar for the bytes sent. */
async function uploadBlob(client: HearthClient, upload: Upload, display: ProgressDisplay): Promise<void> {
  if (await client.hasBlob(upload.digest)) return;
  const label = `copying file ${shortDigest(upload.digest)}`;
  let sent = 0;
  display.bar(upload.digest, label, upload.size, 0);
  const counted = Bun.file(upload.path)
    .stream()
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sent += chunk.byteLength;
          display.bar(upload.digest, label, upload.size, sent);
          controller.enqueue(chunk);
        },
      }),
    );
  await client.uploadBlob(upload.digest, counted, upload.size);
}

/**
 * `hearth create NAME -f Modelfile`: parses the Modelfile here, uploads the local files it
 * names, then asks the server to create the model. Without -f, ./Modelfile, or else the model
 * files in the current folder (`FROM .`), as `ollama create` does.
 */
export async function create(client: HearthClient, model: string, file: string | undefined, out: ProgressOutput): Promise<void> {
  const path = resolve(file ?? "Modelfile");
  let text: string;
  if (existsSync(path)) text = await readFile(path, "utf8");
  else if (file === undefined) text = "FROM .\n";
  else throw new ClientError(`specified Modelfile wasn't found: ${path}`);
  const commands = parseModelfile(text);

  const display = openProgress(out);
  try {
    display.status("gathering model components");
    const { request, uploads } = await createRequest(commands, dirname(path), (warning) => process.stderr.write(`${warning}\n`));
    for (const upload of uploads) await uploadBlob(client, upload, display);
    await client.stream<ProgressResponse>("/api/create", { model, ...request }, followProgress("create", display));
  } finally {
    display.stop();
  }
}
