import { t, type Static } from "elysia";
import { MAX_LIFETIME_S, MAX_PARALLEL, MAX_RPM } from "../../auth/api-keys.ts";
import { SCOPES } from "../../auth/principal.ts";

const Scope = t.UnionEnum([...SCOPES], {
  description: "inference: chat, completions, embeddings, messages, responses; models: pull, create, push, copy, delete, blobs; admin: everything",
});
const Seconds = t.Union([t.Integer(), t.Null()], { description: "Unix seconds, or null" });

export const ApiKeyObject = t.Object({
  object: t.Literal("api_key"),
  id: t.String({ description: "Names the key in `hearth keys` and in request logs; the key itself reads hth_<id>_<secret>" }),
  name: t.String(),
  hint: t.String({ description: "The key's prefix and last four characters: hth_…abcd" }),
  user: t.Union([t.String(), t.Null()], { description: "The user a personal key belongs to; null for a service key, which acts for the user named in X-User-Id" }),
  project: t.Union([t.String(), t.Null()]),
  scopes: t.Array(Scope),
  models: t.Union([t.Array(t.String()), t.Null()], { description: "The only models the key may see and use; null: all" }),
  rpm: t.Union([t.Integer(), t.Null()], { description: "Requests per minute it may start; null: unlimited" }),
  max_parallel: t.Union([t.Integer(), t.Null()], { description: "Requests it may have in flight at once; null: unlimited" }),
  created_at: t.Integer({ description: "Unix seconds" }),
  expires_at: Seconds,
  revoked_at: Seconds,
  last_used_at: t.Union([t.Integer(), t.Null()], { description: "Unix seconds, to the minute; null: never used" }),
});
export type ApiKeyObjectT = Static<typeof ApiKeyObject>;

export const ApiKeyWithSecret = t.Composite([ApiKeyObject, t.Object({ key: t.String({ description: "The key itself, shown this once: only its hash is kept" }) })]);

export const ApiKeyList = t.Object({ object: t.Literal("list"), data: t.Array(ApiKeyObject) });

export const CreateApiKeyRequest = t.Object({
  name: t.String({ minLength: 1, maxLength: 200 }),
  user: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
  project: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
  scopes: t.Optional(t.Array(Scope, { minItems: 1, description: "Default: inference" })),
  models: t.Optional(t.Array(t.String({ minLength: 1 }), { minItems: 1 })),
  rpm: t.Optional(t.Integer({ minimum: 1, maximum: MAX_RPM })),
  max_parallel: t.Optional(t.Integer({ minimum: 1, maximum: MAX_PARALLEL })),
  expires_in: t.Optional(t.Integer({ minimum: 1, maximum: MAX_LIFETIME_S, description: "Seconds from now, at most ten years; default: never expires" })),
});
export type CreateApiKeyRequestT = Static<typeof CreateApiKeyRequest>;
