import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

// A server killed while it indexes a file: at the next start the file is indexed again from the
// beginning, and ends completed with its chunks once each.
const servers: TestServer[] = [];

afterAll(async () => {
  for (const server of servers) await server.stop().catch(() => {});
});

test("SIGKILL during ingestion, then a restart: the file ends completed, searchable, without duplicate chunks", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-rag-crash-"));
  const models = await modelsFolder(["embed"]);
  const start = async () => {
    const server = await startServer({ models, args: ["--data-dir", dataDir, "--embedding-model", "embed"], env: { ...process.env, HEARTH_API_KEY: "" } as Record<string, string> });
    servers.push(server);
    return { server, client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 }) };
  };
  const words = ["river", "mountain", "garden", "winter", "music", "school", "coffee", "bridge", "station", "doctor", "island", "village"];
  // Thousands of small chunks: seconds of embedding, a window to kill the server in.
  const text = Array.from({ length: 120_000 }, (_, i) => words[(i * 7) % words.length]).join(" ") + " The lighthouse keeper counts the waves.";
  const first = await start();
  const file = await first.client.files.create({ file: await toFile(Buffer.from(text), "long.txt"), purpose: "assistants" });
  const store = await first.client.vectorStores.create({ name: "crash" });
  await first.client.vectorStores.files.create(store.id, { file_id: file.id, chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 } } });
  await Bun.sleep(300);
  expect((await first.client.vectorStores.files.retrieve(file.id, { vector_store_id: store.id })).status).toBe("in_progress");
  expect(await first.server.kill("SIGKILL")).not.toBe(0);

  const second = await start();
  const done = await second.client.vectorStores.files.poll(store.id, file.id, { pollIntervalMs: 100 });
  expect(done.status).toBe("completed");
  const results = await second.client.vectorStores.search(store.id, { query: "lighthouse keeper waves", max_num_results: 1 });
  expect(results.data[0]!.content[0]!.text).toContain("lighthouse keeper");
  await second.server.stop();

  const db = new Database(join(dataDir, "hearth.db"), { readonly: true });
  const { chunks, positions, last } = db
    .query<{ chunks: number; positions: number; last: number }, [string, string]>(
      "SELECT COUNT(*) AS chunks, COUNT(DISTINCT position) AS positions, MAX(position) AS last FROM vector_store_chunks WHERE vector_store_id = ? AND file_id = ?",
    )
    .get(store.id, file.id)!;
  db.close();
  // 120,000 one-token words cut 100 at a time.
  expect(chunks).toBeGreaterThan(1000);
  expect(positions).toBe(chunks);
  expect(last).toBe(chunks - 1);
}, 60_000);
