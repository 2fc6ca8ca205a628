#!/usr/bin/env bun
/**
 * Retrieval figures (`npm run bench:rag`): search latency over a synthetic vector store of
 * 100,000 chunks × 768 dimensions, and ingestion throughput with the `embed` test model.
 *
 *   bun scripts/bench-rag.ts [--chunks N] [--dims D] [--queries Q]
 *
 * The synthetic store is written through the real store (SQLite, one transaction per file) into a
 * temporary data directory, then searched through the in-memory index searches use; ingestion runs
 * the real queue (read, chunk with the model's tokenizer, embed, write) on generated text.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.ts";
import { ModelPool } from "../src/engine/model-pool.ts";
import { loadRuntime } from "../src/engine/runtime.ts";
import { ModelCatalog } from "../src/models/catalog.ts";
import { AUTO_CHUNKING } from "../src/rag/chunking.ts";
import { Library } from "../src/rag/library.ts";
import { openDatabase } from "../src/store/database.ts";
import { SERVER } from "../src/store/viewer.ts";
import { ensureModel } from "./gen-model.ts";
import { Rng } from "./gguf/random.ts";

const { values } = parseArgs({
  options: { chunks: { type: "string", default: "100000" }, dims: { type: "string", default: "768" }, queries: { type: "string", default: "40" } },
});
const CHUNKS = Number(values.chunks);
const DIMS = Number(values.dims);
const QUERIES = Number(values.queries);
const FILES = 10;
const rng = new Rng("hearth-bench-rag");

function unitVector(dims: number): Float32Array {
  const v = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    v[i] = rng.uniform(1) + rng.uniform(1) + rng.uniform(1);
    norm += v[i]! * v[i]!;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dims; i++) v[i]! *= scale;
  return v;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;

const dataDir = await mkdtemp(join(tmpdir(), "hearth-bench-rag-"));
const runtime = await loadRuntime("cpu");
try {
  const models = await mkdtemp(join(dataDir, "models-"));
  await Bun.write(join(models, "embed.gguf"), Bun.file(await ensureModel("embed")));
  const pool = new ModelPool(runtime.llama, { contextSize: 4096, parallel: 1, threads: runtime.threads, maxQueue: 16, maxLoadedModels: 1, memoryBudget: 8 * 2 ** 30 });
  const engine = new Engine(runtime.llama, new ModelCatalog(models), pool);
  const db = openDatabase(dataDir);
  const library = new Library(engine, db, { dataDir, embeddingModel: "embed", maxFileSize: 2 ** 30 });

  // --- search over a synthetic store
  const store = library.stores.create("bench", { name: "synthetic", embeddingModel: "synthetic", metadata: {} });
  let started = performance.now();
  const perFile = Math.ceil(CHUNKS / FILES);
  for (let f = 0; f < FILES; f++) {
    const id = `file-bench${f}`;
    library.files.add({ id, owner: "bench", filename: `synthetic-${f}.txt`, purpose: "assistants", bytes: 0, createdAt: 0 });
    library.stores.attach(store.id, id, { part: f % 2 === 0 ? "even" : "odd" }, AUTO_CHUNKING);
    const chunks = Array.from({ length: Math.min(perFile, CHUNKS - f * perFile) }, (_, i) => ({ position: i, text: `chunk ${i} of file ${f}`, vector: unitVector(DIMS) }));
    library.completed({ vectorStoreId: store.id, fileId: id }, chunks);
  }
  const written = performance.now() - started;
  started = performance.now();
  const index = library.index(store.id);
  const loaded = performance.now() - started;
  const searchable = new Map(library.stores.searchable(store.id).map((file) => [file.fileId, file]));
  const timings = (allowed?: (fileId: string) => boolean) => {
    const times: number[] = [];
    for (let q = 0; q < QUERIES; q++) {
      const query = unitVector(DIMS);
      const t0 = performance.now();
      index.search(query, 10, allowed);
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  };
  timings(); // warm-up: the JIT compiles the scan
  const all = timings();
  const filtered = timings((fileId) => searchable.get(fileId)?.attributes.part === "even");
  const macs = index.size * DIMS;
  console.log(`search index: ${index.size} chunks × ${DIMS} dims (${((index.size * DIMS * 4) / 2 ** 20).toFixed(0)} MiB); written to SQLite in ${(written / 1000).toFixed(1)} s, loaded into memory in ${ms(loaded)}`);
  console.log(`search, top 10 of all:        median ${ms(percentile(all, 50))}, p95 ${ms(percentile(all, 95))} over ${QUERIES} queries (${(macs / percentile(all, 50) / 1e6).toFixed(2)} G multiply-adds/s)`);
  console.log(`search, filter on half:       median ${ms(percentile(filtered, 50))}, p95 ${ms(percentile(filtered, 95))}`);
  library.deleteStore(SERVER, store.id);

  // --- ingestion with the embed model
  const sentences = ["The capital of France is Paris.", "Bananas are yellow fruit.", "The river runs to the sea.", "Coffee and tea are drinks.", "The server stores files in a database."];
  const text = Array.from({ length: 6000 }, (_, i) => `${sentences[i % sentences.length]} Line ${i}.`).join("\n");
  const upload = library.files.reserve();
  await writeFile(library.files.path(upload.id), text);
  library.files.add({ id: upload.id, owner: "bench", filename: "sentences.txt", purpose: "assistants", bytes: Buffer.byteLength(text), createdAt: 0 });
  const docs = library.stores.create("bench", { name: "ingestion", embeddingModel: "embed", metadata: {} });
  library.start();
  // The first file loads the model: timed apart.
  await engine.embeddings.embed({ model: "embed", inputs: ["warm up"] });
  for (const [label, chunking] of [["auto (800/400)", AUTO_CHUNKING], ["static 200/50", { maxChunkSizeTokens: 200, chunkOverlapTokens: 50 }]] as const) {
    library.detach(docs.id, upload.id);
    started = performance.now();
    library.attach(docs.id, upload.id, {}, chunking);
    await library.ingestion.idle();
    const seconds = (performance.now() - started) / 1000;
    const file = library.stores.file(docs.id, upload.id)!;
    const chunks = library.index(docs.id).size;
    if (file.status !== "completed") throw new Error(`ingestion ${file.status}: ${file.lastError?.message}`);
    console.log(`ingestion, ${label}: ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB → ${chunks} chunks in ${seconds.toFixed(2)} s: ${(chunks / seconds).toFixed(0)} chunks/s, ${(Buffer.byteLength(text) / 1024 / seconds).toFixed(0)} KiB/s`);
  }
  await library.stop();
  await pool.dispose();
  db.close();
} finally {
  await runtime.llama.dispose();
  await rm(dataDir, { recursive: true, force: true });
}
