/**
 * String formats, each written as a pattern in the regex subset regex.ts compiles, so that they
 * become grammars the same way (and intersect with a pattern or length bounds the same way). Each is
 * a subset of what validators accept (ajv-formats' full mode, RFC 3339 for dates): what it generates
 * always validates — February stops at the 28th, an IPv6 address is never mixed with IPv4, names and
 * numbers are bounded so that a generation ends.
 */
const HEX = "[0-9a-fA-F]";
const H16 = `${HEX}{1,4}`;
const N = String.raw`\d{1,4}`;
const LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?";
const HOSTNAME = String.raw`${LABEL}(?:\.${LABEL}){0,3}`;
const DATE = String.raw`\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))`;
const TIME = String.raw`(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)`;
const DURATION_DATE = `(?:${N}Y(?:${N}M)?(?:${N}D)?|${N}M(?:${N}D)?|${N}D)`;
const DURATION_TIME = `T(?:${N}H(?:${N}M)?(?:${N}S)?|${N}M(?:${N}S)?|${N}S)`;

const STRING_FORMATS: Record<string, string> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE}T${TIME}`,
  duration: `P(?:${DURATION_DATE}(?:${DURATION_TIME})?|${DURATION_TIME}|${N}W)`,
  email: String.raw`[a-zA-Z0-9_%+-]{1,32}(?:\.[a-zA-Z0-9_%+-]{1,32}){0,3}@(?:${LABEL}\.){1,3}[a-zA-Z]{2,12}`,
  hostname: HOSTNAME,
  ipv4: String.raw`(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`,
  ipv6: `(?:${H16}:){7}${H16}|(?:${H16}:){1,7}:|(?:${H16}:){1,6}:${H16}|::(?:${H16}(?::${H16}){0,6})?`,
  uuid: `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`,
  uri: `https?://${HOSTNAME}(?:/[a-zA-Z0-9._~-]{1,32}){0,8}`,
};

/** OpenAPI's numeric formats, which ajv-formats checks too: int32 is a range, int64 means an integer, float and double nothing. */
const NUMERIC_FORMATS: Record<string, { integer: boolean; minimum?: number; maximum?: number }> = {
  int32: { integer: true, minimum: -(2 ** 31), maximum: 2 ** 31 - 1 },
  int64: { integer: true },
  float: { integer: false },
  double: { integer: false },
};

export const SUPPORTED_FORMATS = [...Object.keys(STRING_FORMATS), ...Object.keys(NUMERIC_FORMATS)];

/** The pattern (without anchors) a string format generates from, or undefined for a numeric or unknown format. */
export function formatPattern(format: string): string | undefined {
  return Object.hasOwn(STRING_FORMATS, format) ? STRING_FORMATS[format] : undefined;
}

export function numericFormat(format: string): (typeof NUMERIC_FORMATS)[string] | undefined {
  return Object.hasOwn(NUMERIC_FORMATS, format) ? NUMERIC_FORMATS[format] : undefined;
}
