/**
 * Many streaming clients at once over the three streaming dialects, a share of them hanging up at
 * random moments: some while still queued (before the first byte), others mid-stream. Every client
 * must end in one of three ways: its stream completed properly, it hung up, or the server refused
 * it with 503/429 in its dialect's error shape. Anything else (a 5xx, a stream ending without its
 * terminator or with an error event, a dropped connection) is a failure.
 */
import { seededRandom } from "./random.ts";
import { isErrorShape } from "./error-shape.ts";

export type StreamOutcome = "completed" | "cancelled" | "refused" | "failed";

export interface StreamResult {
  client: number;
  route: string;
  model: string;
  outcome: StreamOutcome;
  status?: number;
  /** events (SSE) or lines (NDJSON) received */
  chunks: number;
  /** why a failed client failed */
  detail?: string;
}

export interface StormOptions {
  url: string;
  clients: number;
  /** the share of clients that hang up, chosen at random */
  hangUpShare: number;
  /** generation limit per request: small, so the storm ends */
  maxTokens: number;
  models: string[];
  seed: number;
  /** time-based hang-ups happen within this many ms of the start (the rest hang up after a random number of chunks) */
  hangUpWindowMs: number;
}

type Framing = "sse" | "ndjson";

interface Dialect {
  route: string;
  framing: Framing;
  body(model: string, maxTokens: number): object;
}

const PROMPT = "Tell me about dogs.";

const STREAMING_DIALECTS: readonly Dialect[] = [
  {
    route: "/v1/chat/completions",
    framing: "sse",
    body: (model, maxTokens) => ({ model, stream: true, max_tokens: maxTokens, messages: [{ role: "user", content: PROMPT }] }),
  },
  { route: "/api/chat", framing: "ndjson", body: (model, maxTokens) => ({ model, messages: [{ role: "user", content: PROMPT }], options: { num_predict: maxTokens } }) },
  { route: "/api/generate", framing: "ndjson", body: (model, maxTokens) => ({ model, prompt: PROMPT, options: { num_predict: maxTokens } }) },
];

type HangUp = { afterMs: number } | { afterChunks: number };

interface Plan {
  client: number;
  dialect: Dialect;
  model: string;
  hangUp?: HangUp;
}

export async function streamStorm(options: StormOptions): Promise<StreamResult[]> {
  const random = seededRandom(options.seed);
  const hangingUp = new Set(shuffle(range(options.clients), random).slice(0, Math.round(options.clients * options.hangUpShare)));
  const plans: Plan[] = range(options.clients).map((client) => ({
    client,
    dialect: STREAMING_DIALECTS[client % STREAMING_DIALECTS.length]!,
    model: options.models[Math.floor(client / STREAMING_DIALECTS.length) % options.models.length]!,
    // Half hang up on a clock (often while queued), half after some chunks (always mid-stream).
    hangUp: !hangingUp.has(client)
      ? undefined
      : random() < 0.5
        ? { afterMs: random() * options.hangUpWindowMs }
        : { afterChunks: 1 + Math.floor(random() * options.maxTokens) },
  }));
  return Promise.all(plans.map((plan) => runClient(options, plan)));
}

async function runClient(options: StormOptions, plan: Plan): Promise<StreamResult> {
  const base = { client: plan.client, route: plan.dialect.route, model: plan.model };
  const controller = new AbortController();
  let hungUp = false;
  const hangUp = () => {
    hungUp = true;
    controller.abort();
  };
  const timer = plan.hangUp && "afterMs" in plan.hangUp ? setTimeout(hangUp, plan.hangUp.afterMs) : undefined;
  let chunks = 0;
  try {
    const res = await fetch(options.url + plan.dialect.route, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(plan.dialect.body(plan.model, options.maxTokens)),
      signal: controller.signal,
    });
    if (res.status === 503 || res.status === 429) {
      const body = await res.json().catch(() => undefined);
      const shaped = isErrorShape(plan.dialect.route, body);
      return { ...base, status: res.status, chunks, outcome: shaped ? "refused" : "failed", detail: shaped ? undefined : `refusal not in the dialect's shape: ${JSON.stringify(body)}` };
    }
    if (res.status !== 200) return { ...base, status: res.status, chunks, outcome: "failed", detail: (await res.text()).slice(0, 500) };
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      chunks = units(text, plan.dialect.framing).length;
      if (plan.hangUp && "afterChunks" in plan.hangUp && chunks >= plan.hangUp.afterChunks) {
        hangUp();
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
    if (hungUp) return { ...base, status: 200, chunks, outcome: "cancelled" };
    const problem = streamProblem(text, plan.dialect.framing);
    return { ...base, status: 200, chunks, outcome: problem ? "failed" : "completed", detail: problem };
  } catch (err) {
    if (hungUp) return { ...base, chunks, outcome: "cancelled" };
    return { ...base, chunks, outcome: "failed", detail: `connection: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Complete events (SSE) or lines (NDJSON) in what has arrived so far. */
function units(text: string, framing: Framing): string[] {
  const parts = text.split(framing === "sse" ? "\n\n" : "\n");
  return parts.slice(0, -1).filter((part) => part.trim() !== "");
}

/** What is wrong with a stream that ran to its end, or undefined when it ended as its dialect ends one. */
export function streamProblem(text: string, framing: Framing): string | undefined {
  const all = units(text + (framing === "sse" ? "\n\n" : "\n"), framing);
  if (framing === "sse") {
    if (all.at(-1) !== "data: [DONE]") return `SSE stream did not end with [DONE]: …${text.slice(-300)}`;
    const events = all.slice(0, -1).map((event) => JSON.parse(event.replace(/^data: /, "")) as { error?: unknown; choices?: Array<{ finish_reason?: string | null }> });
    if (events.some((event) => event.error !== undefined)) return `SSE stream carried an error event: …${text.slice(-300)}`;
    if (!events.some((event) => event.choices?.some((choice) => choice.finish_reason))) return "SSE stream had no finish_reason";
    return undefined;
  }
  const lines = all.map((line) => JSON.parse(line) as { error?: unknown; done?: boolean });
  if (lines.some((line) => line.error !== undefined)) return `NDJSON stream carried an error line: …${text.slice(-300)}`;
  if (lines.at(-1)?.done !== true) return `NDJSON stream did not end with done: true: …${text.slice(-300)}`;
  return undefined;
}

/** Clients by outcome, and by route and outcome. */
export function tally(results: StreamResult[]): { outcomes: Record<StreamOutcome, number>; byRoute: Record<string, Partial<Record<StreamOutcome, number>>> } {
  const outcomes: Record<StreamOutcome, number> = { completed: 0, cancelled: 0, refused: 0, failed: 0 };
  const byRoute: Record<string, Partial<Record<StreamOutcome, number>>> = {};
  for (const result of results) {
    outcomes[result.outcome]++;
    const route = (byRoute[result.route] ??= {});
    route[result.outcome] = (route[result.outcome] ?? 0) + 1;
  }
  return { outcomes, byRoute };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
