import { describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Conversations } from "../../src/store/conversations.ts";
import { memoryDatabase, openDatabase } from "../../src/store/database.ts";
import { ResponseStore, type StoredItem } from "../../src/store/responses.ts";

const response = (id: string) => ({ id, created_at: 1_700_000_000, object: "response", output: [{ id: `msg_out_${id}`, type: "message" }] });
const items = (n: number): StoredItem[] => Array.from({ length: n }, (_, i) => ({ id: `msg_${i}`, type: "message", n: i }));

describe("stored responses", () => {
  test("a response comes back as saved, with its input items in order, to its owner only", () => {
    const store = new ResponseStore(memoryDatabase());
    store.save("alice", response("resp_1"), items(3));
    expect(store.get("alice", "resp_1")).toEqual(response("resp_1"));
    expect(store.inputItems("alice", "resp_1")).toEqual(items(3));
    expect(store.get("bob", "resp_1")).toBeUndefined();
    expect(store.inputItems("bob", "resp_1")).toBeUndefined();
    expect(store.listInputItems("bob", "resp_1", { limit: 20, order: "asc" })).toBeUndefined();
    expect(store.delete("bob", "resp_1")).toBe(false);
    expect(store.get("nobody", "resp_2")).toBeUndefined();
  });

  test("input items page by after and limit, in either order", () => {
    const store = new ResponseStore(memoryDatabase());
    store.save("o", response("resp_1"), items(5));
    const ids = (page: { items: StoredItem[] } | undefined) => page?.items.map((item) => item.id);
    expect(ids(store.listInputItems("o", "resp_1", { limit: 20, order: "asc" }))).toEqual(["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"]);
    const first = store.listInputItems("o", "resp_1", { limit: 2, order: "desc" })!;
    expect({ ids: ids(first), hasMore: first.hasMore }).toEqual({ ids: ["msg_4", "msg_3"], hasMore: true });
    const next = store.listInputItems("o", "resp_1", { after: "msg_3", limit: 2, order: "desc" })!;
    expect({ ids: ids(next), hasMore: next.hasMore }).toEqual({ ids: ["msg_2", "msg_1"], hasMore: true });
    const last = store.listInputItems("o", "resp_1", { after: "msg_1", limit: 2, order: "desc" })!;
    expect({ ids: ids(last), hasMore: last.hasMore }).toEqual({ ids: ["msg_0"], hasMore: false });
    expect(ids(store.listInputItems("o", "resp_1", { after: "msg_2", limit: 5, order: "asc" }))).toEqual(["msg_3", "msg_4"]);
    expect(store.listInputItems("o", "resp_1", { after: "msg_9", limit: 5, order: "asc" })).toBeUndefined();
  });

  test("deleting a response deletes its input items, and no other response's", () => {
    const db = memoryDatabase();
    const store = new ResponseStore(db);
    store.save("o", response("resp_1"), items(2));
    store.save("o", response("resp_2"), items(3));
    expect(store.delete("o", "resp_1")).toBe(true);
    expect(store.get("o", "resp_1")).toBeUndefined();
    expect(store.delete("o", "resp_1")).toBe(false);
    expect(db.query("SELECT count(*) AS n FROM response_input_items WHERE response_id = 'resp_1'").get()).toEqual({ n: 0 });
    expect(store.inputItems("o", "resp_2")).toEqual(items(3));
  });

  test("a response and its items are saved together or not at all", () => {
    const store = new ResponseStore(memoryDatabase());
    // Ids are unique within a response: the second msg_0 fails the whole save.
    expect(() => store.save("o", response("resp_1"), [...items(2), { id: "msg_0", type: "message" }])).toThrow();
    expect(store.get("o", "resp_1")).toBeUndefined();
  });

  test("with a conversation's items in one transaction: a failure keeps neither", () => {
    const db = memoryDatabase();
    const store = new ResponseStore(db);
    const conversations = new Conversations(db);
    const { conversation } = conversations.create("o", {});
    expect(() =>
      conversations.transaction(() => {
        conversations.append("o", conversation.id, items(2));
        store.save("o", response("resp_1"), items(2));
        throw new Error("the disk is full");
      }),
    ).toThrow("the disk is full");
    expect(store.get("o", "resp_1")).toBeUndefined();
    expect(conversations.history("o", conversation.id)).toEqual([]);
  });

  test("survives a reopen of the data directory; its schema part is versioned on its own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-responses-"));
    let db = openDatabase(dir);
    new ResponseStore(db).save("o", response("resp_1"), items(1));
    db.close();
    db = openDatabase(dir);
    expect(new ResponseStore(db).inputItems("o", "resp_1")).toEqual(items(1));
    expect(db.query("SELECT version FROM schema_versions WHERE part = 'responses'").get()).toEqual({ version: 1 });
    db.close();
  });
});
