/** What one request did, gathered while it ran. */
export interface RequestRecord {
  method: string;
  /** the route's path pattern; "unmatched" when no route took the request */
  route: string;
  status?: number;
  model?: string;
  promptTokens?: number;
  cachedTokens?: number;
  completionTokens?: number;
  timeToFirstTokenMs?: number;
  durationMs?: number;
}

/**
 * One JSON object per line, so journald, Loki or jq read the fields without parsing prose.
 * Fields a request did not have (the model of /health, the tokens of a failed request) are left out.
 */
export function requestLogLine(record: RequestRecord, at: Date): string {
  return JSON.stringify({
    time: at.toISOString(),
    msg: "request",
    method: record.method,
    route: record.route,
    status: record.status,
    model: record.model,
    prompt_tokens: record.promptTokens,
    cached_tokens: record.cachedTokens,
    completion_tokens: record.completionTokens,
    ttft_ms: round(record.timeToFirstTokenMs),
    duration_ms: round(record.durationMs),
  });
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 10) / 10;
}
