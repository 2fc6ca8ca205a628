import { describe, expect, test } from "bun:test";
import { ApiKeys, keyHint } from "../../src/auth/api-keys.ts";
import { memoryDatabase } from "../../src/store/database.ts";

function keys() {
  const db = memoryDatabase();
  return { db, keys: new ApiKeys(db) };
}

describe("API keys", () => {
  test("a key has a recognisable prefix and 256 random bits, and only its hash is stored", () => {
    const { db, keys: store } = keys();
    const { key, info } = store.create({ name: "laptop", scopes: ["inference"] });
    expect(key).toMatch(/^hth_[a-z0-9]{12}_[0-9a-f]{64}$/);
    expect(info.hint).toBe(`hth_…${key.slice(-4)}`);
    const secret = key.split("_")[2]!;
    const dump = JSON.stringify(db.query("SELECT * FROM api_keys").all(), (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(0, 16));
    const second = store.create({ name: "phone", scopes: ["inference"] }).key;
    expect(second).not.toBe(key);
  });

  test("verify gives the key's principal: user, project, scopes, models and limits", () => {
    const { keys: store } = keys();
    const { key, info } = store.create({ name: "alice", user: "alice", project: "p1", scopes: ["inference", "models"], models: ["tiny"], rpm: 10, maxParallel: 2 });
    const principal = store.verify(key);
    expect(principal).toMatchObject({ kind: "key", id: info.id, user: "alice", project: "p1", rpm: 10, maxParallel: 2 });
    if (typeof principal === "string") throw new Error(principal);
    expect([...principal.scopes]).toEqual(["inference", "models"]);
    expect([...principal.models!]).toEqual(["tiny"]);
  });

  test("a wrong secret, a made-up id, a revoked and an expired key are refused", () => {
    const { keys: store } = keys();
    const { key, info } = store.create({ name: "k", scopes: ["inference"] });
    const flipped = key.slice(0, -1) + (key.endsWith("0") ? "1" : "0");
    expect(store.verify(flipped)).toBe("unknown");
    expect(store.verify(`hth_aaaaaaaaaaaa_${"0".repeat(64)}`)).toBe("unknown");
    expect(store.verify("hth_short")).toBe("unknown");
    const expiring = store.create({ name: "e", scopes: ["inference"], expiresInMs: 1000 }, 0);
    expect(typeof store.verify(expiring.key, 999)).toBe("object");
    expect(store.verify(expiring.key, 1000)).toBe("expired");
    expect(store.revoke(info.id)).toBe(true);
    expect(store.verify(key)).toBe("revoked");
    expect(store.revoke("nosuchkey")).toBe(false);
  });

  test("rotating keeps the key's id and settings and retires the old secret at once", () => {
    const { keys: store } = keys();
    const { key, info } = store.create({ name: "ci", user: "bob", scopes: ["models"] });
    const rotated = store.rotate(info.id)!;
    expect(rotated.startsWith(`hth_${info.id}_`)).toBe(true);
    expect(store.verify(key)).toBe("unknown");
    expect(store.verify(rotated)).toMatchObject({ id: info.id, user: "bob" });
    store.revoke(info.id);
    expect(store.rotate(info.id)).toBeUndefined();
  });

  test("anyActive follows creation, revocation and expiry", () => {
    const { keys: store } = keys();
    expect(store.anyActive()).toBe(false);
    const { info } = store.create({ name: "a", scopes: ["inference"] });
    expect(store.anyActive()).toBe(true);
    store.revoke(info.id);
    expect(store.anyActive()).toBe(false);
    store.create({ name: "b", scopes: ["inference"], expiresInMs: 10 }, 0);
    expect(store.anyActive(5)).toBe(true);
    expect(store.anyActive(10)).toBe(false);
  });

  test("hints never show more than the prefix and the last four characters", () => {
    expect(keyHint("hth_abcdefghijkl_0123456789abcdef")).toBe("hth_…cdef");
    expect(keyHint("sk-1234")).toBe("…");
  });
});
