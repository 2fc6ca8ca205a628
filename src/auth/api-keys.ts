import type { Database } from "bun:sqlite";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { migrate } from "../store/database.ts";
import type { Principal, Scope } from "./principal.ts";

/**
 * A key reads `hth_<id>_<secret>`: the id finds its row without the secret taking part in any
 * lookup, and the secret (256 random bits) is then compared, as a SHA-256 hash, in constant time.
 * A fast hash is right for a secret this long: no dictionary reaches it.
 */
const KEY_PREFIX = "hth_";
const KEY_SHAPE = /^hth_([a-z0-9]{12})_([0-9a-f]{64})$/;

const SCHEMA = {
  name: "api_keys",
  migrations: [
    `CREATE TABLE api_keys (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       last4 TEXT NOT NULL,
       user TEXT,
       project TEXT,
       scopes TEXT NOT NULL,
       models TEXT,
       rpm INTEGER,
       max_parallel INTEGER,
       created_at INTEGER NOT NULL,
       expires_at INTEGER,
       revoked_at INTEGER,
       last_used_at INTEGER
     )`,
  ],
};

/** A key as listed: everything but its secret. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  /** the key's first and last characters, as error messages and listings show it: hth_…abcd */
  hint: string;
  user?: string;
  project?: string;
  scopes: Scope[];
  models?: string[];
  rpm?: number;
  maxParallel?: number;
  createdAt: Date;
  expiresAt?: Date;
  revokedAt?: Date;
  lastUsedAt?: Date;
}

/** What a new key is made with: its settings, and a lifetime rather than an expiry date. */
export type NewApiKey = Pick<ApiKeyInfo, "name" | "user" | "project" | "scopes" | "models" | "rpm" | "maxParallel"> & {
  /** ms from now; undefined = never expires */
  expiresInMs?: number;
};

interface Row {
  id: string;
  name: string;
  secret_hash: Uint8Array;
  last4: string;
  user: string | null;
  project: string | null;
  scopes: string;
  models: string | null;
  rpm: number | null;
  max_parallel: number | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/**
 * Bounds on a key's settings: beyond them a number means nothing (a key for a billion requests a
 * minute is unlimited), and an expiry past these would overflow a date.
 */
export const MAX_LIFETIME_S = 10 * 365 * 24 * 3600;
export const MAX_RPM = 1_000_000;
export const MAX_PARALLEL = 10_000;

/** Why a key was refused; the caller words it for its API. */
export type KeyRefusal = "unknown" | "revoked" | "expired";

/** How often a key's last use is written: one write per key per minute, not one per request. */
const LAST_USED_EVERY_MS = 60_000;

/** Hearth's API keys, kept in the store as hashes. */
export class ApiKeys {
  constructor(private readonly db: Database) {
    migrate(db, SCHEMA);
  }

  /** Makes a key; its secret is returned this once and never stored. */
  create(spec: NewApiKey, now = Date.now()): { key: string; info: ApiKeyInfo } {
    const id = randomLowercase(12);
    const secret = randomBytes(32).toString("hex");
    this.db
      .query(
        `INSERT INTO api_keys (id, name, secret_hash, last4, user, project, scopes, models, rpm, max_parallel, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        spec.name,
        sha256(secret),
        secret.slice(-4),
        spec.user ?? null,
        spec.project ?? null,
        spec.scopes.join(","),
        spec.models ? JSON.stringify(spec.models) : null,
        spec.rpm ?? null,
        spec.maxParallel ?? null,
        now,
        spec.expiresInMs === undefined ? null : now + spec.expiresInMs,
      );
    return { key: `${KEY_PREFIX}${id}_${secret}`, info: this.get(id)! };
  }

  list(): ApiKeyInfo[] {
    return this.db.query<Row, []>("SELECT * FROM api_keys ORDER BY created_at, id").all().map(info);
  }

  get(id: string): ApiKeyInfo | undefined {
    const row = this.row(id);
    return row && info(row);
  }

  /** Revokes a key at once; false when there is no such key. */
  revoke(id: string, now = Date.now()): boolean {
    return this.db.query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?").run(now, id).changes > 0;
  }

  /**
   * A new secret for the same key: its id, name, limits and what it owns stay; the old secret stops
   * working at once. undefined when there is no such key, or it is revoked.
   */
  rotate(id: string): string | undefined {
    const secret = randomBytes(32).toString("hex");
    const changed = this.db.query("UPDATE api_keys SET secret_hash = ?, last4 = ? WHERE id = ? AND revoked_at IS NULL").run(sha256(secret), secret.slice(-4), id).changes;
    return changed > 0 ? `${KEY_PREFIX}${id}_${secret}` : undefined;
  }

  /** Whether any key can still be used: while one can, the server asks every request for a credential. */
  anyActive(now = Date.now()): boolean {
    return this.db.query("SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) LIMIT 1").get(now) !== null;
  }

  /** Whether a presented credential has the shape of a Hearth key (so it is judged here, not as a JWT or a static key). */
  static isKeyShaped(credential: string): boolean {
    return credential.startsWith(KEY_PREFIX);
  }

  /** The principal a key stands for, or why it is refused. */
  verify(credential: string, now = Date.now()): Principal | KeyRefusal {
    const shape = KEY_SHAPE.exec(credential);
    if (!shape) return "unknown";
    const row = this.row(shape[1]!);
    // Compared even for an unknown id, against a hash no secret has, so both cases take the same time.
    const stored = row?.secret_hash ?? NO_SECRET;
    if (!timingSafeEqual(sha256(shape[2]!), stored) || !row) return "unknown";
    if (row.revoked_at !== null) return "revoked";
    if (row.expires_at !== null && row.expires_at <= now) return "expired";
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_EVERY_MS) {
      this.db.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(now, row.id);
    }
    const key = info(row);
    return {
      kind: "key",
      id: key.id,
      user: key.user,
      project: key.project,
      scopes: new Set(key.scopes),
      models: key.models && new Set(key.models),
      rpm: key.rpm,
      maxParallel: key.maxParallel,
    };
  }

  private row(id: string): Row | undefined {
    return this.db.query<Row, [string]>("SELECT * FROM api_keys WHERE id = ?").get(id) ?? undefined;
  }
}

const NO_SECRET = new Uint8Array(32);

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The hint a key is shown by: its prefix and last four characters. */
export function keyHint(credential: string): string {
  return credential.length > 8 ? `${credential.slice(0, 4)}…${credential.slice(-4)}` : "…";
}

function info(row: Row): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    hint: `${KEY_PREFIX}…${row.last4}`,
    user: row.user ?? undefined,
    project: row.project ?? undefined,
    scopes: row.scopes.split(",") as Scope[],
    models: row.models === null ? undefined : (JSON.parse(row.models) as string[]),
    rpm: row.rpm ?? undefined,
    maxParallel: row.max_parallel ?? undefined,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
  };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Unbiased: bytes past the largest multiple of 36 are drawn again. */
function randomLowercase(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 252 && out.length < length) out += LOWER[b % 36];
    }
  }
  return out;
}
