/**
 * Shared Elysia settings for every plugin that declares request schemas. Elysia's default
 * "exactMirror" normalizer coerces a string or number sent for an optional object field into
 * an object before validation (`"metadata": "x"` became `{"0": "x"}`), so wrong types slipped
 * through as 200s; TypeBox's cleaner strips unknown fields without that coercion.
 */
export const ROUTE_CONFIG = { normalize: "typebox" } as const;
