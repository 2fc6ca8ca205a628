import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ApiKeys, MAX_LIFETIME_S, MAX_PARALLEL, MAX_RPM, type ApiKeyInfo } from "../auth/api-keys.ts";
import { SCOPES, type Scope } from "../auth/principal.ts";
import { durationMs } from "../duration.ts";
import { defaultDataDir } from "../store/data-dir.ts";
import { openDatabase } from "../store/database.ts";
import { UsageError } from "./options.ts";

export const KEYS_USAGE = `Usage:
  hearth keys create --name NAME [--user U] [--project P] [--models a,b] [--scope inference,models,admin]
                     [--expires 90d] [--rpm N] [--max-parallel N]
  hearth keys list [--json]
  hearth keys revoke ID
  hearth keys rotate ID

Keys live in the data directory (--data-dir DIR, HEARTH_DATA_DIR, default $XDG_DATA_HOME/hearth),
as hashes: a key is printed once, when it is created or rotated. While any key exists, the server
asks every request for one (Authorization: Bearer KEY, or x-api-key: KEY).

  --name NAME        what the key is for (shown by list)
  --user U           the user it belongs to (a personal key); without it the key is a service key,
                     which may act for the user and project named in X-User-Id and X-Project-Id
  --project P        the project it belongs to
  --models a,b       the only models it may see and use (default: all)
  --scope S,S        inference (chat, completions, embeddings, messages, responses; default),
                     models (pull, create, push, copy, delete, blobs), admin (everything)
  --expires DUR      lifetime such as 90d, 12h, 2w (default: never)
  --rpm N            requests per minute it may start (default: unlimited)
  --max-parallel N   requests it may have in flight at once (default: unlimited)`;

const FLAGS = {
  "data-dir": { type: "string" },
  name: { type: "string" },
  user: { type: "string" },
  project: { type: "string" },
  models: { type: "string" },
  scope: { type: "string" },
  expires: { type: "string" },
  rpm: { type: "string" },
  "max-parallel": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `hearth keys …`: manages the store's keys directly, whether or not a server is running on it. */
export function runKeys(argv: string[], env: Record<string, string | undefined>): number {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${KEYS_USAGE}`);
  }
  const { values, positionals } = parsed;
  const [action, id, ...extra] = positionals;
  if (values.help || action === undefined) {
    console.log(KEYS_USAGE);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new UsageError(`unexpected "${extra.join(" ")}"\n${KEYS_USAGE}`);
  const db = openDatabase(resolve(values["data-dir"] ?? env.HEARTH_DATA_DIR ?? defaultDataDir(env)));
  try {
    const keys = new ApiKeys(db);
    switch (action) {
      case "create": {
        if (!values.name?.trim()) throw new UsageError(`keys create needs --name\n${KEYS_USAGE}`);
        const { key, info } = keys.create({
          name: values.name.trim(),
          user: values.user,
          project: values.project,
          scopes: scopesOf(values.scope),
          models: values.models === undefined ? undefined : listOf(values.models, "--models"),
          rpm: positive(values.rpm, "--rpm", MAX_RPM),
          maxParallel: positive(values["max-parallel"], "--max-parallel", MAX_PARALLEL),
          expiresInMs: expiresIn(values.expires),
        });
        console.log(key);
        console.error(`Created key ${info.id} (${describe(info)}). It is shown only now: store it somewhere safe.`);
        return 0;
      }
      case "list": {
        const all = keys.list();
        if (values.json) console.log(JSON.stringify(all, null, 2));
        else if (all.length === 0) console.log("No keys.");
        else for (const info of all) console.log(`${info.id}  ${info.hint}  ${info.name}  ${describe(info)}`);
        return 0;
      }
      case "revoke": {
        if (!id) throw new UsageError(`keys revoke needs a key id (see hearth keys list)`);
        if (!keys.revoke(id)) throw new UsageError(`no key ${id}`);
        console.log(`Revoked key ${id}.`);
        return 0;
      }
      case "rotate": {
        if (!id) throw new UsageError(`keys rotate needs a key id (see hearth keys list)`);
        const key = keys.rotate(id);
        if (key === undefined) throw new UsageError(`no key ${id} that can be rotated (it does not exist or is revoked)`);
        console.log(key);
        console.error(`Rotated key ${id}: the old secret no longer works. The new one is shown only now.`);
        return 0;
      }
      default:
        throw new UsageError(`unknown keys command "${action}"\n${KEYS_USAGE}`);
    }
  } finally {
    db.close();
  }
}

function describe(info: ApiKeyInfo): string {
  const parts = [`scopes ${info.scopes.join(",")}`];
  if (info.user) parts.push(`user ${info.user}`);
  else parts.push("service key");
  if (info.project) parts.push(`project ${info.project}`);
  if (info.models) parts.push(`models ${info.models.join(",")}`);
  if (info.rpm) parts.push(`${info.rpm} rpm`);
  if (info.maxParallel) parts.push(`${info.maxParallel} at once`);
  if (info.revokedAt) parts.push(`revoked ${info.revokedAt.toISOString()}`);
  else if (info.expiresAt) parts.push(`${info.expiresAt.getTime() <= Date.now() ? "expired" : "expires"} ${info.expiresAt.toISOString()}`);
  if (info.lastUsedAt) parts.push(`last used ${info.lastUsedAt.toISOString()}`);
  return parts.join(", ");
}

function listOf(raw: string, flag: string): string[] {
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new UsageError(`${flag} must name at least one item`);
  return items;
}

function scopesOf(raw: string | undefined): Scope[] {
  if (raw === undefined) return ["inference"];
  const scopes = listOf(raw, "--scope");
  const unknown = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown !== undefined) throw new UsageError(`--scope must be among ${SCOPES.join(", ")}; got "${unknown}"`);
  return [...new Set(scopes)] as Scope[];
}

function positive(raw: string | undefined, flag: string, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${raw}"`);
  return n;
}

function expiresIn(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = durationMs(raw.trim());
  if (ms === undefined || ms <= 0 || ms > MAX_LIFETIME_S * 1000 || !/[a-z]$/i.test(raw.trim())) {
    throw new UsageError(`--expires must be a duration such as 90d, 12h or 2w, at most ten years; got "${raw}"`);
  }
  return ms;
}
