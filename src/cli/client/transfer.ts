import { ClientError, type HearthClient, type ProgressResponse, ServerError } from "./api.ts";
import { openProgress, type ProgressOutput } from "./progress.ts";
import { followProgress, type TransferKind } from "./transfer-progress.ts";

/** Streams a pull, push or create, drawing its progress on `out`; the display is left as it ended, on failure too. */
async function withProgress(client: HearthClient, kind: TransferKind, body: unknown, out: ProgressOutput): Promise<void> {
  const display = openProgress(out);
  try {
    await client.stream<ProgressResponse>(`/api/${kind}`, body, followProgress(kind, display));
  } finally {
    display.stop();
  }
}

/** `hearth pull NAME`, and `hearth run` for a model the server does not have. */
export function pull(client: HearthClient, model: string, insecure: boolean, out: ProgressOutput): Promise<void> {
  return withProgress(client, "pull", { model, ...(insecure ? { insecure } : {}) }, out);
}

/** `hearth push NAME`, then where the model went, as `ollama push` says it. */
export async function push(client: HearthClient, model: string, insecure: boolean, out: ProgressOutput): Promise<string> {
  try {
    await withProgress(client, "push", { model, ...(insecure ? { insecure } : {}) }, out);
  } catch (err) {
    // A registry's bare "unauthorized" does not say what to do about it.
    if (err instanceof ServerError && /access denied|unauthorized/i.test(err.message)) {
      throw new ClientError("you are not authorized to push to this namespace, create the model under a namespace you own");
    }
    throw err;
  }
  return `\nYou can find your model at:\n\n\t${model}\n`;
}
