import { describe, expect, test } from "bun:test";
import { ChatCompletions } from "../../src/store/chat-completions.ts";
import { Conversations } from "../../src/store/conversations.ts";
import { memoryDatabase } from "../../src/store/database.ts";

interface Completion {
  id: string;
  model: string;
  created: number;
  answer: string;
}

const completion = (id: string, model = "tiny"): Completion => ({ id, model, created: 1_700_000_000, answer: `answer of ${id}` });
const messages = [{ role: "user", content: "hi" }];

function filled(metadata: Array<Record<string, string>> = []) {
  const store = new ChatCompletions<Completion, { role: string; content: string }>(memoryDatabase());
  ["a", "b", "c", "d"].forEach((id, i) => store.save("alice", { completion: completion(id, i % 2 === 0 ? "tiny" : "text"), messages, metadata: metadata[i] ?? {} }));
  return store;
}

const ids = (page: { completions: Array<{ completion: Completion }> } | undefined) => page!.completions.map((stored) => stored.completion.id);

describe("ChatCompletions", () => {
  test("a saved completion comes back whole, with its messages and metadata", () => {
    const store = filled([{ run: "1" }]);
    expect(store.get("alice", "a")).toEqual({ completion: completion("a"), messages, metadata: { run: "1" } });
  });

  test("another owner's completion is missing to every read and write", () => {
    const store = filled();
    expect(store.get("bob", "a")).toBeUndefined();
    expect(ids(store.list("bob", { limit: 20, order: "asc" }))).toEqual([]);
    expect(store.list("bob", { after: "a", limit: 20, order: "asc" })).toBeUndefined();
    expect(store.updateMetadata("bob", "a", { x: "y" })).toBeUndefined();
    expect(store.delete("bob", "a")).toBe(false);
    expect(store.get("alice", "a")!.metadata).toEqual({});
  });

  test("lists page in either order after a completion, with has_more", () => {
    const store = filled();
    const first = store.list("alice", { limit: 2, order: "asc" })!;
    expect(ids(first)).toEqual(["a", "b"]);
    expect(first.hasMore).toBe(true);
    expect(ids(store.list("alice", { after: "b", limit: 2, order: "asc" }))).toEqual(["c", "d"]);
    expect(store.list("alice", { after: "b", limit: 2, order: "asc" })!.hasMore).toBe(false);
    expect(ids(store.list("alice", { after: "c", limit: 5, order: "desc" }))).toEqual(["b", "a"]);
    expect(store.list("alice", { after: "zzz", limit: 5, order: "asc" })).toBeUndefined();
  });

  test("lists filter by model and by every metadata pair, keys matched exactly", () => {
    const store = filled([{ team: "red", "odd.key\"": "1" }, { team: "red" }, { team: "blue", "odd.key\"": "1" }, {}]);
    expect(ids(store.list("alice", { limit: 20, order: "asc", model: "text" }))).toEqual(["b", "d"]);
    expect(ids(store.list("alice", { limit: 20, order: "asc", metadata: { team: "red" } }))).toEqual(["a", "b"]);
    expect(ids(store.list("alice", { limit: 20, order: "asc", metadata: { team: "red", "odd.key\"": "1" } }))).toEqual(["a"]);
    expect(ids(store.list("alice", { limit: 20, order: "asc", metadata: { "odd.key\"": "1" }, model: "tiny" }))).toEqual(["a", "c"]);
  });

  test("metadata is replaced; a deleted completion is gone", () => {
    const store = filled([{ old: "1" }]);
    expect(store.updateMetadata("alice", "a", { new: "2" })!.metadata).toEqual({ new: "2" });
    expect(store.delete("alice", "a")).toBe(true);
    expect(store.get("alice", "a")).toBeUndefined();
    expect(store.delete("alice", "a")).toBe(false);
  });

  test("a completion and conversation items saved in one transaction land together or not at all", () => {
    const db = memoryDatabase();
    const conversations = new Conversations(db);
    const completions = new ChatCompletions<Completion, unknown>(db);
    const { conversation } = conversations.create("alice", {});
    const turn = { type: "message", role: "user", content: [] };
    conversations.transaction(() => {
      conversations.append("alice", conversation.id, [turn]);
      completions.save("alice", { completion: completion("kept"), messages: [], metadata: {} });
    });
    // The second save of the same id fails, taking the items appended before it along.
    expect(() =>
      conversations.transaction(() => {
        conversations.append("alice", conversation.id, [turn]);
        completions.save("alice", { completion: completion("kept"), messages: [], metadata: {} });
      }),
    ).toThrow();
    expect(conversations.history("alice", conversation.id)!.length).toBe(1);
    expect(completions.get("alice", "kept")).toBeDefined();
  });
});
