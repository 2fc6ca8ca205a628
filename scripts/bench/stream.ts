/** One streamed chat completion as a client sees it: when it was sent, its first and last tokens, its usage. */
export interface StreamedAnswer {
  startMs: number;
  firstMs: number;
  lastMs: number;
  promptTokens: number;
  completionTokens: number;
}

export type Message = { role: "system" | "user" | "assistant"; content: string };

/**
 * Streams POST /v1/chat/completions from any OpenAI-compatible server (Hearth, llama-server) and
 * times it. Greedy, with the usage chunk asked for; reasoning deltas count as tokens too.
 */
export async function streamChat(url: string, model: string, messages: Message[], maxTokens: number): Promise<StreamedAnswer> {
  const startMs = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
    // A fresh connection each time: a server closes pooled ones while the other sides are measured.
    keepalive: false,
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  let firstMs = 0;
  let lastMs = 0;
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of res.body!) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut).replace(/^data: /, "");
      buffer = buffer.slice(cut + 2);
      if (event === "[DONE]" || !event.startsWith("{")) continue;
      const chunk = JSON.parse(event);
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices?.[0]?.delta;
      if (delta?.content || delta?.reasoning_content) {
        firstMs ||= performance.now();
        lastMs = performance.now();
      }
    }
  }
  if (!usage) throw new Error(`${url}: the stream ended without a usage chunk`);
  return { startMs, firstMs, lastMs, promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
