import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Engine } from "../../src/engine/engine.ts";
import { InvalidRequestError, ObjectNotFoundError } from "../../src/errors.ts";
import { AUTO_CHUNKING } from "../../src/rag/chunking.ts";
import { matches, parseFilter } from "../../src/rag/filters.ts";
import { Library } from "../../src/rag/library.ts";
import { searchStores } from "../../src/rag/search.ts";
import { VectorIndex } from "../../src/rag/vector-index.ts";
import { memoryDatabase } from "../../src/store/database.ts";

function unit(values: number[]): Float32Array {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (x) => x / norm);
}

describe("VectorIndex", () => {
  const index = new VectorIndex();
  index.add([
    { id: 1, fileId: "a", vector: unit([1, 0, 0, 0, 0]) },
    { id: 2, fileId: "b", vector: unit([1, 1, 0, 0, 0]) },
    { id: 3, fileId: "a", vector: unit([0, 1, 0, 0, 0]) },
    { id: 4, fileId: "c", vector: unit([-1, 0, 0, 0, 1]) },
  ]);

  test("finds the k nearest by cosine similarity, best first, above a threshold, within the files allowed", () => {
    const query = unit([1, 0.2, 0, 0, 0]);
    expect(index.search(query, 2).map((hit) => hit.chunkId)).toEqual([1, 2]);
    expect(index.search(query, 10).map((hit) => hit.chunkId)).toEqual([1, 2, 3, 4]);
    expect(index.search(query, 10, undefined, 0.5).map((hit) => hit.chunkId)).toEqual([1, 2]);
    expect(index.search(query, 10, (file) => file !== "a").map((hit) => hit.fileId)).toEqual(["b", "c"]);
    expect(index.search(query, 1)[0]!.score).toBeCloseTo(1 / Math.hypot(1, 0.2), 5);
  });

  test("drops a file's rows and keeps the others in order", () => {
    const copy = new VectorIndex();
    copy.add(["a", "b", "a", "c"].map((fileId, i) => ({ id: i + 1, fileId, vector: unit([1, i, 0, 0, 0]) })));
    copy.removeFile("a");
    expect(copy.size).toBe(2);
    expect(copy.search(unit([1, 0, 0, 0, 0]), 10).map((hit) => hit.chunkId)).toEqual([2, 4]);
  });
});

describe("filters", () => {
  const attributes = { region: "europe", year: 2021, public: true, date: "2024-05-01" };

  test("comparisons: a missing attribute equals nothing; order needs the same kind on both sides", () => {
    expect(matches({ type: "eq", key: "region", value: "europe" }, attributes)).toBe(true);
    expect(matches({ type: "ne", key: "region", value: "asia" }, attributes)).toBe(true);
    expect(matches({ type: "gte", key: "year", value: 2021 }, attributes)).toBe(true);
    expect(matches({ type: "lt", key: "year", value: 2021 }, attributes)).toBe(false);
    expect(matches({ type: "gt", key: "date", value: "2024-01-01" }, attributes)).toBe(true);
    expect(matches({ type: "gt", key: "year", value: "2000" }, attributes)).toBe(false);
    expect(matches({ type: "in", key: "region", value: ["asia", "europe"] }, attributes)).toBe(true);
    expect(matches({ type: "nin", key: "region", value: ["asia", "europe"] }, attributes)).toBe(false);
    expect(matches({ type: "eq", key: "missing", value: "x" }, attributes)).toBe(false);
    expect(matches({ type: "ne", key: "missing", value: "x" }, attributes)).toBe(true);
    expect(matches({ type: "eq", key: "public", value: true }, attributes)).toBe(true);
  });

  test("and/or nest to any depth; a malformed filter is a 400 naming where", () => {
    const nested = parseFilter({
      type: "and",
      filters: [
        { type: "eq", key: "public", value: true },
        { type: "or", filters: [{ type: "eq", key: "region", value: "asia" }, { type: "gte", key: "year", value: 2020 }] },
      ],
    });
    expect(matches(nested, attributes)).toBe(true);
    expect(matches(nested, { ...attributes, year: 2019 })).toBe(false);
    const bad = () => parseFilter({ type: "or", filters: [{ type: "eq", key: "a", value: "b" }, { type: "in", key: "a", value: "b" }] });
    expect(bad).toThrow(InvalidRequestError);
    try {
      bad();
    } catch (err) {
      expect((err as InvalidRequestError).param).toBe("filters.filters[1].value");
    }
    expect(() => parseFilter({ type: "like", key: "a", value: "b" })).toThrow("filters.type must be one of");
  });
});

describe("searchStores", () => {
  // No query is embedded here: every case is refused before the engine is asked.
  const engine = {} as Engine;
  const library = new Library(engine, memoryDatabase(), { dataDir: mkdtempSync(join(tmpdir(), "hearth-search-")), maxFileSize: 1024 });
  const alice = library.stores.create("user:alice", { name: "a", embeddingModel: "embed", metadata: {} });
  const other = library.stores.create("user:alice", { name: "b", embeddingModel: "nomic", metadata: {} });
  const bobs = library.stores.create("user:bob", { name: "c", embeddingModel: "embed", metadata: {} });
  const search = (who: string, ids: string[]) => searchStores(library, engine, who, { vectorStoreIds: ids, query: "hi", maxNumResults: 5 });

  test("a store the caller does not have, or no such store, is not found, naming vector_store_ids", async () => {
    for (const ids of [[bobs.id], ["vs_absent"], [alice.id, bobs.id]]) {
      const error = await search("user:alice", ids).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ObjectNotFoundError);
      expect((error as ObjectNotFoundError).param).toBe("vector_store_ids");
    }
  });

  test("stores embedded by different models cannot be searched together", async () => {
    const error = await search("user:alice", [alice.id, other.id]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).message).toContain("different models");
  });

  test("a file attached twice stays one file", () => {
    library.files.add({ id: "file-x", owner: "user:alice", filename: "x.txt", purpose: "assistants", bytes: 1, createdAt: 1 });
    library.stores.attach(alice.id, "file-x", {}, AUTO_CHUNKING);
    expect(library.stores.attach(alice.id, "file-x", { a: 1 }, AUTO_CHUNKING).created).toBe(false);
    expect(library.stores.counts(alice.id).fileCounts).toEqual({ in_progress: 1, completed: 0, failed: 0, cancelled: 0, total: 1 });
  });
});
