import type { Database } from "bun:sqlite";
import { Elysia, t } from "elysia";
import { ApiKeys, type ApiKeyInfo } from "../../auth/api-keys.ts";
import { ObjectNotFoundError } from "../../errors.ts";
import { toOpenAIErrorResponse } from "../openai/errors.ts";
import { OpenAIError } from "../openai/schemas.ts";
import { ROUTE_CONFIG } from "../route-config.ts";
import { ApiKeyList, ApiKeyObject, ApiKeyWithSecret, CreateApiKeyRequest, type ApiKeyObjectT } from "./schemas.ts";

function seconds(date: Date | undefined): number | null {
  return date === undefined ? null : Math.floor(date.getTime() / 1000);
}

function keyObject(info: ApiKeyInfo): ApiKeyObjectT {
  return {
    object: "api_key",
    id: info.id,
    name: info.name,
    hint: info.hint,
    user: info.user ?? null,
    project: info.project ?? null,
    scopes: info.scopes,
    models: info.models ?? null,
    rpm: info.rpm ?? null,
    max_parallel: info.maxParallel ?? null,
    created_at: seconds(info.createdAt)!,
    expires_at: seconds(info.expiresAt),
    revoked_at: seconds(info.revokedAt),
    last_used_at: seconds(info.lastUsedAt),
  };
}

function missing(id: string): ObjectNotFoundError {
  return new ObjectNotFoundError(`No API key found with id '${id}'.`, "id");
}

const Id = t.Object({ id: t.String() });
const errors = { 400: OpenAIError, 401: OpenAIError, 403: OpenAIError, 404: OpenAIError };

/** What `hearth keys` does, over HTTP, for credentials with the admin scope. */
export function keysRoutes(db: Database) {
  const keys = new ApiKeys(db);
  return new Elysia({ ...ROUTE_CONFIG, name: "keys", detail: { tags: ["Keys"] } })
    .onError(({ code, error }) => toOpenAIErrorResponse(code, error))
    .get("/v1/keys", () => ({ object: "list" as const, data: keys.list().map(keyObject) }), {
      response: { 200: ApiKeyList, ...errors },
      detail: { summary: "List API keys", description: "Every key Hearth has made, revoked ones included; never a secret. Needs the admin scope." },
    })
    .post(
      "/v1/keys",
      ({ body }) => {
        const { key, info } = keys.create({
          name: body.name,
          user: body.user,
          project: body.project,
          scopes: body.scopes ? [...new Set(body.scopes)] : ["inference"],
          models: body.models,
          rpm: body.rpm,
          maxParallel: body.max_parallel,
          expiresInMs: body.expires_in === undefined ? undefined : body.expires_in * 1000,
        });
        return { ...keyObject(info), key };
      },
      {
        parse: "json",
        body: CreateApiKeyRequest,
        response: { 200: ApiKeyWithSecret, ...errors },
        detail: { summary: "Create an API key", description: "The answer holds the key itself (`key`), this once. Needs the admin scope." },
      },
    )
    .get(
      "/v1/keys/:id",
      ({ params }) => {
        const info = keys.get(params.id);
        if (!info) throw missing(params.id);
        return keyObject(info);
      },
      { params: Id, response: { 200: ApiKeyObject, ...errors }, detail: { summary: "Describe an API key" } },
    )
    .delete(
      "/v1/keys/:id",
      ({ params }) => {
        if (!keys.revoke(params.id)) throw missing(params.id);
        return keyObject(keys.get(params.id)!);
      },
      { params: Id, response: { 200: ApiKeyObject, ...errors }, detail: { summary: "Revoke an API key", description: "It stops working at once; it stays listed, with `revoked_at`." } },
    )
    .post(
      "/v1/keys/:id/rotate",
      ({ params }) => {
        const key = keys.rotate(params.id);
        if (key === undefined) throw missing(params.id);
        return { ...keyObject(keys.get(params.id)!), key };
      },
      {
        params: Id,
        response: { 200: ApiKeyWithSecret, ...errors },
        detail: { summary: "Rotate an API key", description: "A new secret for the same key (its id, settings and what it owns stay); the old one stops working at once. Revoked keys cannot be rotated." },
      },
    );
}
