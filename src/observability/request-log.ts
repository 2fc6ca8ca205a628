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
  requestId?: string;
  /** who the request acted for: a key's id or a token's subject, never a secret */
  principal?: string;
  /** the conversation the request read or wrote (the seed's chat id) */
  chatId?: string;
}

/**
 * One JSON object per line, so journald, Loki or jq read the fields without parsing prose.
 * Fields a request did not have (the model of /health, the tokens of a failed request) are left out.
 */
export function requestLogLine(record: RequestRecord, at: Date): string {
  return JSON.stringify({
    time: at.toISOString(),
    msg: "request",
    request_id: record.requestId,
    method: record.method,
    route: record.route,
    status: record.status,
    principal: record.principal,
    chat_id: record.chatId,
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
