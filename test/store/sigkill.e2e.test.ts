import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATABASE_FILE } from "../../src/store/database.ts";
import { modelsFolder } from "../support/models.ts";
import { startServer, type TestServer } from "../support/server.ts";

const ROUNDS = 6;

/** The round's server while it runs: a failed round's server is killed here rather than left behind. */
let running: TestServer | undefined;
afterAll(async () => {
  await running?.kill("SIGKILL");
});
const WRITERS = 6;

/**
 * Writers append to a conversation as fast as the server acknowledges, and chat turns are stored
 * (`store: true` starting a conversation: the conversation, the turn's items and the stored
 * completion, one transaction); the server is SIGKILLed at a random moment. Reopened, the database must pass
 * SQLite's integrity check, hold every write that was acknowledged, and hold each write whole or
 * not at all.
 */
describe("the store across SIGKILL", () => {
  test(`every acknowledged write survives ${ROUNDS} kills in the middle of writing; none is half-written`, async () => {
    const models = await modelsFolder(["tiny"]);
    const dataDir = await mkdtemp(join(tmpdir(), "hearth-sigkill-"));
    const acknowledged: string[] = [];
    const acknowledgedTurns: string[] = [];
    let conversationId: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await startServer({ models, args: ["--data-dir", dataDir] });
      running = server;
      if (conversationId === undefined) {
        const created = await fetch(`${server.url}/v1/conversations`, { method: "POST", body: JSON.stringify({ metadata: { test: "sigkill" } }) });
        expect(created.status).toBe(200);
        conversationId = (await created.json()).id;
      }
      // One turn before the writers start, so the model is loaded when the kill comes.
      const warm = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: `turn-r${round}-warm` }], max_tokens: 2, store: true, conversation: {} }),
      });
      expect({ status: warm.status, body: warm.status === 200 ? "" : await warm.text() }).toEqual({ status: 200, body: "" });
      acknowledgedTurns.push(((await warm.json()) as { id: string }).id);
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
      const chatter = async () => {
        for (let n = 0; !killed; n++) {
          const marker = `turn-r${round}-n${n}`;
          const body = { model: "tiny", messages: [{ role: "user", content: marker }], max_tokens: 2, store: true, conversation: {} };
          try {
            const response = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(body) });
            if (response.status === 200) acknowledgedTurns.push(((await response.json()) as { id: string }).id);
          } catch {
            return;
          }
        }
      };
      const writers = [...Array.from({ length: WRITERS }, (_, w) => writer(w)), chatter()];
      await Bun.sleep(150 + Math.random() * 350);
      killed = true;
      expect(await server.kill("SIGKILL")).not.toBe(0);
      running = undefined;
      await Promise.all(writers);

      const db = new Database(join(dataDir, DATABASE_FILE));
      expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      const rows = db
        .query<{ conversation_id: string; item: string }, []>("SELECT conversation_id, item FROM conversation_items ORDER BY seq")
        .all()
        .map((row) => ({ conversation: row.conversation_id, ...(JSON.parse(row.item) as { role: string; content: { text: string }[] }) }));
      const completions = db.query<{ id: string; messages: string }, []>("SELECT id, messages FROM chat_completions").all();
      db.close();
      // Every stored turn, acknowledged or not, has its conversation: its question, then an answer.
      const storedIds = new Set(completions.map((c) => c.id));
      expect(acknowledgedTurns.filter((id) => !storedIds.has(id))).toEqual([]);
      for (const completion of completions) {
        const question = (JSON.parse(completion.messages) as { content: string }[]).at(-1)!.content;
        const at = rows.findIndex((row) => row.role === "user" && row.content[0]?.text === question);
        const answer = rows.slice(at + 1).find((row) => row.conversation === rows[at]?.conversation);
        expect({ question, asked: at >= 0, answered: answer?.role }).toEqual({ question, asked: true, answered: "assistant" });
      }
      // ...and no turn's items are there without its stored completion.
      expect(rows.filter((row) => row.role === "user" && row.content[0]?.text.startsWith("turn-")).length).toBe(completions.length);
      const texts = rows.filter((row) => row.conversation === conversationId).map((row) => row.content[0]!.text);
      const stored = new Set(texts);
      const missing = acknowledged.filter((marker) => !stored.has(`${marker}-a`) || !stored.has(`${marker}-b`));
      expect(missing).toEqual([]);
      const halves = new Map<string, number>();
      for (const text of texts) halves.set(text.slice(0, -2), (halves.get(text.slice(0, -2)) ?? 0) + 1);
      expect([...halves.values()].every((count) => count === 2)).toBe(true);
    }
    expect(acknowledged.length).toBeGreaterThan(ROUNDS * 10);
    expect(acknowledgedTurns.length).toBeGreaterThan(ROUNDS);
  }, 120_000);
});
