import { describe, expect, test } from "bun:test";
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultDataDir } from "../../src/store/data-dir.ts";
import { DATABASE_FILE, migrate, openDatabase } from "../../src/store/database.ts";

describe("the store's database", () => {
  test("lives in the data directory, 0700 and 0600, in WAL mode with full sync", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "hearth-db-")), "nested", "data");
    const db = openDatabase(dir);
    db.exec("CREATE TABLE t (x)");
    db.query("INSERT INTO t VALUES (1)").run();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, DATABASE_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, `${DATABASE_FILE}-wal`))).mode & 0o777).toBe(0o600);
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    db.close();
  });

  test("migrations run once each, in order, per part; a newer schema than this build knows is refused", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-db-"));
    const part = { name: "things", migrations: ["CREATE TABLE things (id TEXT)", "ALTER TABLE things ADD COLUMN size INTEGER"] };
    let db = openDatabase(dir);
    migrate(db, { ...part, migrations: part.migrations.slice(0, 1) });
    db.query("INSERT INTO things (id) VALUES ('a')").run();
    db.close();
    db = openDatabase(dir);
    migrate(db, part);
    migrate(db, part);
    expect(db.query("SELECT id, size FROM things").all()).toEqual([{ id: "a", size: null }]);
    expect(db.query("SELECT version FROM schema_versions WHERE part = 'things'").get()).toEqual({ version: 2 });
    expect(() => migrate(db, { ...part, migrations: part.migrations.slice(0, 1) })).toThrow("newer than this Hearth knows");
    db.close();
  });

  test("a failed migration leaves the schema as it was", async () => {
    const db = openDatabase(await mkdtemp(join(tmpdir(), "hearth-db-")));
    expect(() => migrate(db, { name: "broken", migrations: ["CREATE TABLE ok (x); CREATE TABLE ok (y)"] })).toThrow();
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'ok'").get()).toBeNull();
    expect(db.query("SELECT version FROM schema_versions WHERE part = 'broken'").get()).toBeNull();
    db.close();
  });

  test("defaults to $XDG_DATA_HOME/hearth, else ~/.local/share/hearth", () => {
    expect(defaultDataDir({ XDG_DATA_HOME: "/data" })).toBe("/data/hearth");
    expect(defaultDataDir({})).toEndWith("/.local/share/hearth");
    expect(defaultDataDir({ XDG_DATA_HOME: "relative" })).toEndWith("/.local/share/hearth");
  });
});
