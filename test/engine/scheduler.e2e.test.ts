import { afterAll, beforeAll, expect, test } from "bun:test";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Four sequences of one context. The endless model goes on until max_tokens, so every stream below
// lasts exactly as long as it is allowed to.
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ models: await modelsFolder(["tiny", "endless"]), args: ["--parallel", "4"] });
});

afterAll(async () => {
  await server?.stop();
});

interface Usage {
  prompt_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

async function chat(messages: Array<{ role: string; content: string }>, maxTokens = 4): Promise<{ content: string; usage: Usage }> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "tiny", messages, max_tokens: maxTokens, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  const body = await res.json();
  return { content: body.choices[0].message.content, usage: body.usage };
}

/** Streams one answer, noting when its first content arrived and when it finished. */
async function timedStream(maxTokens: number): Promise<{ firstAt: number; finishedAt: number; chunks: number; finishReason: string }> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "endless", messages: [{ role: "user", content: "hi" }], max_tokens: maxTokens, temperature: 0, stream: true }),
  });
  expect(res.status).toBe(200);
  let firstAt = 0;
  let chunks = 0;
  let finishReason = "";
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const bytes of res.body!) {
    buffered += decoder.decode(bytes, { stream: true });
    const events = buffered.split("\n\n");
    buffered = events.pop()!;
    for (const event of events) {
      if (!event.startsWith("data: {")) continue;
      const choice = JSON.parse(event.slice(6)).choices[0];
      if (choice?.delta?.content) {
        firstAt ||= performance.now();
        chunks++;
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
    }
  }
  return { firstAt, finishedAt: performance.now(), chunks, finishReason };
}

test("four streams decode together: every stream's first token arrives before any stream finishes", async () => {
  const streams = await Promise.all([timedStream(150), timedStream(150), timedStream(150), timedStream(150)]);
  for (const stream of streams) {
    expect(stream.finishReason).toBe("length");
    expect(stream.chunks).toBeGreaterThan(1);
  }
  const lastFirstToken = Math.max(...streams.map((s) => s.firstAt));
  const firstFinish = Math.min(...streams.map((s) => s.finishedAt));
  expect(lastFirstToken).toBeLessThan(firstFinish);
});

test("each sequence has the whole context: four long prompts at once all fit", async () => {
  // 4096 tokens per sequence (the default): prompts of ~3000 tokens would not fit a context split four ways.
  const long = (i: number) => [{ role: "user", content: `${i} ` + "the quick brown fox jumps over the lazy dog ".repeat(300) }];
  const answers = await Promise.all([0, 1, 2, 3].map((i) => chat(long(i))));
  for (const answer of answers) expect(answer.usage.prompt_tokens).toBeGreaterThan(2000);
});

test("a conversation's next turn goes to the sequence holding its earlier turns: only the new part is evaluated", async () => {
  const system = (topic: string) => ({ role: "system", content: `You answer questions about ${topic}. ` + `Be brief and exact about ${topic}. `.repeat(40) });
  const conversations = ["gardening", "astronomy", "cooking", "sailing"].map((topic) => [system(topic), { role: "user", content: "Where do I start?" }]);
  // Turn one of each, one after another: each lands on a sequence of its own, the other three keep theirs.
  const first = [];
  for (const messages of conversations) first.push(await chat(messages));
  for (const [i, messages] of conversations.entries()) {
    const turn2 = [...messages, { role: "assistant", content: first[i]!.content }, { role: "user", content: "And then?" }];
    const { usage } = await chat(turn2);
    // Everything up to the end of turn one was cached; what follows (the answer's closing, the new message) was not.
    expect(usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(first[i]!.usage.prompt_tokens - 1);
    expect(usage.prompt_tokens_details.cached_tokens).toBeLessThan(usage.prompt_tokens);
  }
});

test("an agent's repeated system prompt is reused across different questions", async () => {
  const system = { role: "system", content: "You are a release-notes agent. Follow the style guide. ".repeat(50) };
  const warm = await chat([system, { role: "user", content: "Summarize change one." }]);
  // Another client in between: the most recently freed sequence is no longer the agent's.
  await chat([{ role: "user", content: "An unrelated question from someone else." }]);
  const next = await chat([system, { role: "user", content: "Summarize change two, which differs." }]);
  expect(next.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(warm.usage.prompt_tokens * 0.8);
});
