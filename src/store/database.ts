import { Database } from "bun:sqlite";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";

/** The database file inside the data directory. */
export const DATABASE_FILE = "hearth.db";

/**
 * One part of the store's schema (keys, conversations, responses…) and its migrations in order:
 * each part has its own version, so parts grow independently; a migration once shipped is never
 * edited, only followed by another.
 */
export interface SchemaPart {
  name: string;
  migrations: readonly string[];
}

/**
 * Opens (creating if needed) the data directory's database: the directory 0700 and the file 0600,
 * since it holds key hashes and conversations; WAL so readers never wait on a writer, and
 * synchronous=FULL so a write acknowledged is on disk. The SQLite files' own journaling makes each
 * transaction all-or-nothing across a SIGKILL or a power cut.
 */
export function openDatabase(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  // Created 0600 before SQLite opens it: SQLite would create it with the umask's mode, and its -wal
  // and -shm files take the database file's mode.
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
  const db = new Database(file, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  return prepared(db);
}

/** A database that lives as long as the process: for generating the OpenAPI document, and tests of the routes alone. */
export function memoryDatabase(): Database {
  return prepared(new Database(":memory:", { strict: true }));
}

function prepared(db: Database): Database {
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  // Another process (`hearth keys` beside a running server) may hold the write lock for a moment.
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  return db;
}

/** Brings a part of the schema up to its latest version, each migration in one transaction with its version bump. */
export function migrate(db: Database, part: SchemaPart): void {
  const row = db.query<{ version: number }, [string]>("SELECT version FROM schema_versions WHERE part = ?").get(part.name);
  const current = row?.version ?? 0;
  if (current > part.migrations.length) {
    throw new Error(`the data directory's ${part.name} schema is version ${current}, newer than this Hearth knows (${part.migrations.length}); upgrade Hearth`);
  }
  for (let version = current + 1; version <= part.migrations.length; version++) {
    db.transaction(() => {
      db.exec(part.migrations[version - 1]!);
      db.query("INSERT INTO schema_versions (part, version) VALUES (?, ?) ON CONFLICT (part) DO UPDATE SET version = excluded.version").run(part.name, version);
    }).immediate();
  }
}
