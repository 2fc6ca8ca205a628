import type { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { migrate } from "./database.ts";
import { keysetPage, type CursorOptions } from "./keyset-page.ts";
import { visibleTo, type Viewer } from "./viewer.ts";

const SCHEMA = {
  name: "files",
  migrations: [
    `CREATE TABLE files (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       owner TEXT NOT NULL,
       filename TEXT NOT NULL,
       purpose TEXT NOT NULL,
       bytes INTEGER NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE INDEX files_by_owner ON files (owner, seq);`,
  ],
};

/** The purposes Hearth keeps files for: retrieval (vector stores) reads both. */
export const FILE_PURPOSES = ["assistants", "user_data"] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

export interface StoredFile {
  id: string;
  owner: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  /** Unix seconds */
  createdAt: number;
}

interface FileRow {
  seq: number;
  id: string;
  owner: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  created_at: number;
}

/** A temporary name beside the kept files: what an upload writes until it is whole and accepted. */
const PARTIAL = ".partial";

/**
 * Uploaded files (OpenAI's Files API): a row each in the database, the bytes in a folder of the
 * data directory under the file's id. A file's bytes are renamed into place before its row is
 * written, so a row always has its bytes; what a crash leaves between the two (a partial upload,
 * bytes without a row) is removed at the next start.
 */
export class Files {
  readonly dir: string;

  constructor(
    private readonly db: Database,
    dataDir: string,
  ) {
    migrate(db, SCHEMA);
    this.dir = join(dataDir, "files");
  }

  /** Removes what interrupted uploads and deletions left behind; called once at startup, before any upload. */
  sweep(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const known = this.db.query<{ id: string }, [string]>("SELECT id FROM files WHERE id = ?");
    for (const name of names) {
      if (name.endsWith(PARTIAL) || !known.get(name)) rmSync(join(this.dir, name), { force: true });
    }
  }

  /** A new file's id and the temporary path its bytes are written to. */
  reserve(): { id: string; partialPath: string } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const id = `file-${randomBytes(12).toString("hex")}`;
    return { id, partialPath: join(this.dir, id + PARTIAL) };
  }

  /** Where a file's bytes are; only for ids read back from the store, never a client's text. */
  path(id: string): string {
    return join(this.dir, id);
  }

  /** Records a file whose bytes are already at `path(id)`. */
  add(file: StoredFile): StoredFile {
    this.db
      .query("INSERT INTO files (id, owner, filename, purpose, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(file.id, file.owner, file.filename, file.purpose, file.bytes, file.createdAt);
    return file;
  }

  get(viewer: Viewer, id: string): StoredFile | undefined {
    const { where, params } = visibleTo(viewer);
    const row = this.db.query<FileRow, [string, string, number]>(`SELECT * FROM files WHERE id = ? AND ${where}`).get(id, ...params);
    return row ? fileOf(row) : undefined;
  }

  /** Any viewer's file, for the ingestion worker. */
  byId(id: string): StoredFile | undefined {
    const row = this.db.query<FileRow, [string]>("SELECT * FROM files WHERE id = ?").get(id);
    return row ? fileOf(row) : undefined;
  }

  /** A page of the files the viewer sees, of one purpose or all; undefined when `after` names none of them. */
  list(viewer: Viewer, purpose: string | undefined, options: CursorOptions): { files: StoredFile[]; hasMore: boolean } | undefined {
    const visible = visibleTo(viewer);
    const where = purpose === undefined ? visible.where : `${visible.where} AND purpose = ?`;
    const params = purpose === undefined ? visible.params : [...visible.params, purpose];
    const page = keysetPage<FileRow>(this.db, { table: "files", idColumn: "id", where, params }, options);
    return page && { files: page.rows.map(fileOf), hasMore: page.hasMore };
  }

  /**
   * Deletes the file's row (its vector stores' chunks go with it, by their foreign keys) and then
   * its bytes; false when the viewer has no such file.
   */
  delete(viewer: Viewer, id: string): boolean {
    const { where, params } = visibleTo(viewer);
    const deleted = this.db.query(`DELETE FROM files WHERE id = ? AND ${where}`).run(id, ...params).changes > 0;
    if (deleted) rmSync(this.path(id), { force: true });
    return deleted;
  }
}

function fileOf(row: FileRow): StoredFile {
  return { id: row.id, owner: row.owner, filename: row.filename, purpose: row.purpose, bytes: row.bytes, createdAt: row.created_at };
}
