/**
 * The server's own account of its load, read over HTTP: queue depth and busy sequences from
 * /metrics, the models in memory from /api/ps. After a storm every sequence must be back and the
 * queue empty; a sequence a request forgot to release stays busy for good.
 */

export interface Settled {
  queueDepth: number;
  busySequences: number;
  loadedModels: string[];
  /** models some request still holds: their expiry in /api/ps moves with the clock instead of standing */
  heldModels: string[];
  waitedMs: number;
}

/** A sample's value in Prometheus text; 0 when the series has not appeared yet. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    const match = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
    if (!match || match[1] !== name) continue;
    const have = match[2]?.split(",") ?? [];
    if (wanted.every((pair) => have.includes(pair))) return Number(match[3]);
  }
  return 0;
}

async function gauges(url: string): Promise<{ queueDepth: number; busySequences: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return { queueDepth: sample(text, "hearth_queue_depth"), busySequences: sample(text, "hearth_busy_sequences") };
}

async function expiries(url: string): Promise<Map<string, string>> {
  const { models } = (await (await fetch(`${url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string }> };
  return new Map(models.map((m) => [m.name, m.expires_at]));
}

/**
 * Waits up to `timeoutMs` for an empty queue and no busy sequence (a cancelled generation lets go
 * of its sequence within a decode step, not at once), then reads /api/ps twice, a little over a
 * second apart: an idle model's unload time stands still, a held one's is "now + keep-alive".
 */
export async function settle(url: string, timeoutMs = 15_000): Promise<Settled> {
  const started = Date.now();
  let state = await gauges(url);
  while ((state.queueDepth > 0 || state.busySequences > 0) && Date.now() - started < timeoutMs) {
    await Bun.sleep(100);
    state = await gauges(url);
  }
  const waitedMs = Date.now() - started;
  const first = await expiries(url);
  await Bun.sleep(1_100);
  const second = await expiries(url);
  const heldModels = [...second].filter(([name, at]) => first.has(name) && first.get(name) !== at).map(([name]) => name);
  return { ...state, loadedModels: [...second.keys()], heldModels, waitedMs };
}
