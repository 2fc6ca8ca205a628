import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATABASE_FILE } from "../../src/store/database.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer } from "../support/server.ts";

const ROUNDS = 6;
const WRITERS = 6;

/**
 * Writers append to a conversation as fast as the server acknowledges; the server is SIGKILLed at
 * a random moment. Reopened, the database must pass SQLite's integrity check, hold every write
 * that was acknowledged, and hold each two-item write whole or not at all.
 */
describe("the store across SIGKILL", () => {
  test(`every acknowledged write survives ${ROUNDS} kills in the middle of writing; none is half-written`, async () => {
    const models = await modelsFolder([]);
    const dataDir = await mkdtemp(join(tmpdir(), "hearth-sigkill-"));
    const acknowledged: string[] = [];
    let conversationId: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await startServer({ models, args: ["--data-dir", dataDir] });
      if (conversationId === undefined) {
        const created = await fetch(`${server.url}/v1/conversations`, { method: "POST", body: JSON.stringify({ metadata: { test: "sigkill" } }) });
        expect(created.status).toBe(200);
        conversationId = (await created.json()).id;
      }
      let killed = false;
      const writer = async (w: number) => {
        for (let n = 0; !killed; n++) {
          const marker = `r${round}-w${w}-n${n}`;
          const item = (half: string) => ({ type: "message", role: "user", content: [{ type: "input_text", text: `${marker}-${half}` }] });
          try {
            const response = await fetch(`${server.url}/v1/conversations/${conversationId}/items`, { method: "POST", body: JSON.stringify({ items: [item("a"), item("b")] }) });
            if (response.status === 200) {
              await response.json();
              acknowledged.push(marker);
            }
          } catch {
            return; // the connection died with the server: this write was never acknowledged
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      await Bun.sleep(150 + Math.random() * 350);
      killed = true;
      expect(await server.kill("SIGKILL")).not.toBe(0);
      await Promise.all(writers);

      const db = new Database(join(dataDir, DATABASE_FILE));
      expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      const texts = db
        .query<{ item: string }, [string]>("SELECT item FROM conversation_items WHERE conversation_id = ?")
        .all(conversationId!)
        .map((row) => (JSON.parse(row.item) as { content: { text: string }[] }).content[0]!.text);
      db.close();
      const stored = new Set(texts);
      const missing = acknowledged.filter((marker) => !stored.has(`${marker}-a`) || !stored.has(`${marker}-b`));
      expect(missing).toEqual([]);
      const halves = new Map<string, number>();
      for (const text of texts) halves.set(text.slice(0, -2), (halves.get(text.slice(0, -2)) ?? 0) + 1);
      expect([...halves.values()].every((count) => count === 2)).toBe(true);
    }
    expect(acknowledged.length).toBeGreaterThan(ROUNDS * 10);
  }, 120_000);
});
