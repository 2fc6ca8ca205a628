import { ClientError, type HearthClient, type ListedModel, type RunningModel, ServerError } from "./api.ts";
import { humanBytes, humanTime, table } from "./format.ts";

/** `hearth list [PREFIX]`: the local models, newest first as the server sends them. */
export async function list(client: HearthClient, prefix?: string): Promise<string> {
  const { models = [] } = (await client.request<{ models?: ListedModel[] }>("GET", "/api/tags")) ?? {};
  const rows = models
    .filter((m) => prefix === undefined || m.name.toLowerCase().startsWith(prefix.toLowerCase()))
    .map((m) => [m.name, m.digest.slice(0, 12), humanBytes(m.size), humanTime(new Date(m.modified_at))]);
  return table(rows, { header: ["NAME", "ID", "SIZE", "MODIFIED"] });
}

/** Where a loaded model sits, as Ollama words it. */
function processor(m: RunningModel): string {
  if (m.size_vram === 0) return "100% CPU";
  if (m.size_vram === m.size) return "100% GPU";
  if (m.size_vram > m.size || m.size === 0) return "Unknown";
  const cpu = Math.round(((m.size - m.size_vram) / m.size) * 100);
  return `${cpu}%/${100 - cpu}% CPU/GPU`;
}

/** `hearth ps [PREFIX]`: the loaded models. */
export async function ps(client: HearthClient, prefix?: string): Promise<string> {
  const { models = [] } = (await client.request<{ models?: RunningModel[] }>("GET", "/api/ps")) ?? {};
  const now = Date.now();
  const rows = models
    .filter((m) => prefix === undefined || m.name.startsWith(prefix))
    .map((m) => {
      const expires = new Date(m.expires_at);
      const until = expires.getTime() < now ? "Stopping..." : humanTime(expires, now);
      return [m.name, m.digest.slice(0, 12), humanBytes(m.size), processor(m), String(m.context_length ?? 0), until];
    });
  return table(rows, { header: ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"] });
}

/** `hearth rm NAME...`: stops at the first failure, as `ollama rm` does. */
export async function remove(client: HearthClient, names: string[], print: (line: string) => void): Promise<void> {
  for (const name of names) {
    await client.request("DELETE", "/api/delete", { model: name });
    print(`deleted '${name}'`);
  }
}

export async function copy(client: HearthClient, source: string, destination: string): Promise<string> {
  await client.request("POST", "/api/copy", { source, destination });
  return `copied '${source}' to '${destination}'`;
}

/**
 * Ollama's request without a prompt: it loads the model, or with keep_alive 0 unloads it. The
 * answer streams (a single object) once the model is loaded.
 */
export async function loadOrUnload(client: HearthClient, body: { model: string; keep_alive?: string | number; think?: boolean | string }): Promise<void> {
  await client.stream("/api/generate", body, () => {});
}

/** `hearth stop NAME`: unloads the model now. */
export async function stop(client: HearthClient, name: string): Promise<void> {
  try {
    await loadOrUnload(client, { model: name, keep_alive: 0 });
  } catch (err) {
    if (err instanceof ServerError && err.status === 404) throw new ClientError(`couldn't find model "${name}" to stop`);
    throw err;
  }
}
