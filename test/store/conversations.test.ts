import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Conversations } from "../../src/store/conversations.ts";
import { memoryDatabase, openDatabase } from "../../src/store/database.ts";

const message = (text: string) => ({ type: "message", role: "user", content: [{ type: "input_text", text }], status: "completed" });

describe("Conversations", () => {
  test("a conversation and its first items are created together, with ids of OpenAI's prefixes", () => {
    const store = new Conversations(memoryDatabase());
    const { conversation, items } = store.create("alice", { topic: "foxes" }, [message("hi"), { type: "function_call", call_id: "c1", name: "f", arguments: "{}" }, { type: "reasoning", summary: [] }]);
    expect(conversation.id).toMatch(/^conv_[0-9a-f]{48}$/);
    expect(conversation.createdAt).toBe(Math.floor(conversation.createdAt));
    expect(Math.abs(conversation.createdAt - Date.now() / 1000)).toBeLessThan(5);
    expect(items.map((item) => item.id.split("_")[0])).toEqual(["msg", "fc", "rs"]);
    expect(store.get("alice", conversation.id)).toEqual(conversation);
    expect(store.history("alice", conversation.id)).toEqual(items);
  });

  test("an id chosen beforehand is the conversation's", () => {
    const store = new Conversations(memoryDatabase());
    const { conversation } = store.create("alice", {}, [], "conv_chosen");
    expect(store.get("alice", "conv_chosen")).toEqual(conversation);
  });

  test("another owner's conversation is missing to every read and write", () => {
    const store = new Conversations(memoryDatabase());
    const { conversation, items } = store.create("alice", {}, [message("mine")]);
    const id = conversation.id;
    expect(store.get("bob", id)).toBeUndefined();
    expect(store.history("bob", id)).toBeUndefined();
    expect(store.listItems("bob", id, { limit: 20, order: "asc" })).toBeUndefined();
    expect(store.getItem("bob", id, items[0]!.id)).toBeUndefined();
    expect(store.append("bob", id, [message("theirs")])).toBeUndefined();
    expect(store.updateMetadata("bob", id, { a: "b" })).toBeUndefined();
    expect(store.deleteItem("bob", id, items[0]!.id)).toBe(false);
    expect(store.delete("bob", id)).toBe(false);
    expect(store.history("alice", id)).toEqual(items);
    expect(store.get("alice", id)!.metadata).toEqual({});
  });

  test("items page after an item in either order, with has_more", () => {
    const store = new Conversations(memoryDatabase());
    const { conversation, items } = store.create("alice", {}, ["a", "b", "c", "d", "e"].map(message));
    const ids = items.map((item) => item.id);
    const asc = store.listItems("alice", conversation.id, { limit: 2, order: "asc" })!;
    expect(asc.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
    expect(asc.hasMore).toBe(true);
    const next = store.listItems("alice", conversation.id, { after: ids[1], limit: 5, order: "asc" })!;
    expect(next.items.map((item) => item.id)).toEqual(ids.slice(2));
    expect(next.hasMore).toBe(false);
    const desc = store.listItems("alice", conversation.id, { after: ids[3], limit: 2, order: "desc" })!;
    expect(desc.items.map((item) => item.id)).toEqual([ids[2]!, ids[1]!]);
    expect(desc.hasMore).toBe(true);
    expect(store.listItems("alice", conversation.id, { after: "msg_nope", limit: 2, order: "asc" })).toBeUndefined();
  });

  test("deleting a conversation deletes its items; deleting an item leaves the rest in order", () => {
    const store = new Conversations(memoryDatabase());
    const { conversation, items } = store.create("alice", {}, ["a", "b", "c"].map(message));
    expect(store.deleteItem("alice", conversation.id, items[1]!.id)).toBe(true);
    expect(store.history("alice", conversation.id)).toEqual([items[0]!, items[2]!]);
    expect(store.delete("alice", conversation.id)).toBe(true);
    expect(store.get("alice", conversation.id)).toBeUndefined();
    expect(store.getItem("alice", conversation.id, items[0]!.id)).toBeUndefined();
  });

  test("writes wrapped in one transaction land together or not at all", () => {
    const store = new Conversations(memoryDatabase());
    const { conversation } = store.create("alice", {}, [message("first")]);
    expect(() =>
      store.transaction(() => {
        store.append("alice", conversation.id, [message("second")]);
        store.create("alice", {}, [], "conv_other");
        throw new Error("the other write failed");
      }),
    ).toThrow("the other write failed");
    expect(store.history("alice", conversation.id)!.length).toBe(1);
    expect(store.get("alice", "conv_other")).toBeUndefined();
  });

  test("a reopened data directory keeps its conversations, and migrating again changes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-store-"));
    const first = openDatabase(dir);
    const { conversation, items } = new Conversations(first).create("alice", { k: "v" }, [message("kept")]);
    first.close();
    const second = openDatabase(dir);
    const store = new Conversations(second);
    expect(store.get("alice", conversation.id)).toEqual(conversation);
    expect(store.history("alice", conversation.id)).toEqual(items);
    second.close();
  });
});
