import type { EngineObserver, UsageReport } from "../engine/types.ts";
import { principalIdOf } from "../auth/principal.ts";
import type { Metrics } from "./metrics.ts";
import { chatIdOf } from "./chat-id.ts";
import { requestIdOf } from "./request-id.ts";
import { requestLogLine, type RequestRecord } from "./request-log.ts";

interface Tracked {
  record: RequestRecord;
  startedAt: number;
  done: boolean;
}

/** Response bodies that are streamed generations: the request lasts until their last byte. */
const STREAMED = /^(text\/event-stream|application\/x-ndjson)/;

/**
 * Follows each HTTP request from arrival until its response is sent in full (a streamed
 * response's last event included), collects what the engine reports for it, then counts it in
 * the metrics and writes its log line. The engine's reports carry the request's abort signal,
 * which is how a report finds its request without the engine knowing about HTTP.
 */
export class Telemetry implements EngineObserver {
  private bySignal = new WeakMap<AbortSignal, Tracked>();
  private byRequest = new WeakMap<Request, Tracked>();

  constructor(
    private readonly metrics: Metrics,
    private readonly log: (line: string) => void = console.log,
  ) {}

  /** Wraps a fetch handler so every request it answers is measured and logged. */
  wrap(handle: (request: Request) => Response | Promise<Response>): (request: Request) => Promise<Response> {
    return async (request) => {
      const tracked: Tracked = { record: { method: request.method, route: "unmatched", requestId: requestIdOf(request) }, startedAt: performance.now(), done: false };
      this.byRequest.set(request, tracked);
      this.bySignal.set(request.signal, tracked);
      let response: Response;
      try {
        response = await handle(request);
      } catch (err) {
        tracked.record.status = 500;
        this.finish(tracked);
        throw err;
      }
      tracked.record.status = response.status;
      tracked.record.principal = principalIdOf(request);
      // The client's chat id when it sent one, else the conversation the request read or wrote.
      tracked.record.chatId = chatIdOf(request) ?? response.headers.get("x-conversation-id") ?? undefined;
      if (!response.body || !STREAMED.test(response.headers.get("content-type") ?? "")) {
        this.finish(tracked);
        return response;
      }
      return new Response(this.untilEnd(response.body, tracked), response);
    };
  }

  /** Names the route a request matched, as the router knows it. */
  routed(request: Request, route: string | undefined): void {
    const tracked = this.byRequest.get(request);
    if (tracked && route) tracked.record.route = route;
  }

  finished(report: UsageReport): void {
    this.metrics.usage(report);
    const tracked = report.signal && this.bySignal.get(report.signal);
    if (!tracked) return;
    const record = tracked.record;
    record.model = report.model;
    record.promptTokens = report.promptTokens;
    record.cachedTokens = report.cachedTokens;
    record.completionTokens = report.completionTokens;
    if (report.timings && report.completionTokens > 0) record.timeToFirstTokenMs = (report.timings.loadNs + report.timings.promptEvalNs) / 1e6;
  }

  /** The same bytes, noticing when the last one has gone out or the client has hung up. */
  private untilEnd(body: ReadableStream<Uint8Array>, tracked: Tracked): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const { value, done } = await reader.read();
          if (done) {
            controller.close();
            this.finish(tracked);
          } else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
          this.finish(tracked);
        }
      },
      cancel: async (reason) => {
        this.finish(tracked);
        await reader.cancel(reason);
      },
    });
  }

  private finish(tracked: Tracked): void {
    if (tracked.done) return;
    tracked.done = true;
    const record = tracked.record;
    record.durationMs = performance.now() - tracked.startedAt;
    this.metrics.request({ method: record.method, route: record.route, status: record.status ?? 500, durationSeconds: record.durationMs / 1000 });
    this.log(requestLogLine(record, new Date()));
  }
}
