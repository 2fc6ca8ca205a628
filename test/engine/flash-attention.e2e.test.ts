import { afterAll, expect, test } from "bun:test";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// Flash attention sums attention in another order, so the same greedy answer comes with other
// logprobs in the last digits: which arithmetic ran tells whether llama.cpp turned it on.
const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function logprobsWith(args: string[]): Promise<number[]> {
  const server = await startServer({ models: await modelsFolder(["tiny"]), args: ["--threads", "2", ...args] });
  servers.push(server);
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "tiny",
      messages: [{ role: "user", content: "Tell me about the sea, the hills and the rivers that run between them. ".repeat(8) }],
      max_tokens: 8,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    }),
  });
  expect(res.status).toBe(200);
  const body = await res.json();
  return body.choices[0].logprobs.content.flatMap((t: { logprob: number; top_logprobs: Array<{ logprob: number }> }) => [t.logprob, ...t.top_logprobs.map((top) => top.logprob)]);
}

test("--flash-attention auto (the default) runs llama.cpp's flash attention on the CPU, as --flash-attention on does", async () => {
  const [auto, on, off] = await Promise.all([logprobsWith([]), logprobsWith(["--flash-attention", "on"]), logprobsWith(["--flash-attention", "off"])]);
  expect(auto.length).toBeGreaterThan(0);
  expect(auto).toEqual(on);
  expect(auto).not.toEqual(off);
});
