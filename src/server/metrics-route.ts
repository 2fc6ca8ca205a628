import { Elysia, t } from "elysia";
import type { Metrics } from "../observability/metrics.ts";

export function metricsRoute(metrics: Metrics) {
  return new Elysia({ name: "metrics" }).get("/metrics", async () => new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } }), {
    response: { 200: t.String({ description: "Prometheus text exposition format 0.0.4" }) },
    detail: {
      summary: "Prometheus metrics",
      description:
        "Requests by route and status, tokens in and out, cached prompt tokens, time-to-first-token and decode-rate histograms by model, queue depth and loaded models.",
      tags: ["Server"],
    },
  });
}
