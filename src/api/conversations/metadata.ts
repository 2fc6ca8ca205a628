import { t } from "elysia";
import { InvalidRequestError } from "../../errors.ts";

const MAX_PAIRS = 16;
const MAX_KEY = 64;
const MAX_VALUE = 512;

const LIMITS = `at most ${MAX_PAIRS} pairs, keys of at most ${MAX_KEY} characters, string values of at most ${MAX_VALUE}`;

/**
 * OpenAI's metadata: string pairs kept with a stored object. The limits are checked by
 * `checkMetadata`, since a schema keyword would word its failure as a type error.
 */
export const Metadata = t.Object({}, { additionalProperties: t.String(), description: `Key-value pairs kept with the object: ${LIMITS}` });

/** The metadata as sent, or a 400 naming `param` when it is over OpenAI's limits. */
export function checkMetadata(metadata: Record<string, string> | null | undefined, param = "metadata"): Record<string, string> {
  if (metadata == null) return {};
  const keys = Object.keys(metadata);
  if (keys.length > MAX_PAIRS) throw new InvalidRequestError(`${param} has ${keys.length} pairs; at most ${MAX_PAIRS} are allowed`, param, "invalid_value");
  const long = keys.find((key) => key.length > MAX_KEY);
  if (long !== undefined) throw new InvalidRequestError(`${param} key "${long.slice(0, MAX_KEY)}…" is ${long.length} characters long; at most ${MAX_KEY} are allowed`, param, "invalid_value");
  const over = keys.find((key) => metadata[key]!.length > MAX_VALUE);
  if (over !== undefined) throw new InvalidRequestError(`${param}["${over}"] is ${metadata[over]!.length} characters long; at most ${MAX_VALUE} are allowed`, param, "invalid_value");
  return metadata;
}
