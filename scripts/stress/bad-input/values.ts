/**
 * The bad values: one of each JSON kind (for fields that do not take it), numbers at and past
 * the edges, hostile strings, model names that try to climb out of the models folder, and bytes
 * JSON.stringify cannot write (invalid UTF-8, 1e309, 10,000 levels of nesting), which go into a
 * body as Raw pieces.
 */

import type { Kind } from "./schema-fields.ts";

/** Bytes placed into a JSON body as they are, where a value goes. */
export class Raw {
  constructor(
    readonly bytes: Uint8Array<ArrayBuffer>,
    /** how the case names it, since the bytes themselves may be unprintable or huge */
    readonly label: string,
    /** the kind of value JSON.parse makes of it */
    readonly kind: Kind,
  ) {}
}

const encoder = new TextEncoder();

export function raw(text: string, kind: Kind, label = text): Raw {
  return new Raw(encoder.encode(text), label, kind);
}

/** A JSON string made of these bytes: `"` + bytes + `"`. */
function rawString(bytes: number[], label: string): Raw {
  return new Raw(new Uint8Array([0x22, ...bytes, 0x22]), label, "string");
}

/** One value of each kind; a field is sent those of the kinds it does not accept. */
export const ONE_OF_EACH_KIND: readonly unknown[] = ["wrong", 12345, 1.5, true, null, ["wrong"], { wrong: 1 }];

const DEEP_LEVELS = 10_000;
export const deepArray = raw("[".repeat(DEEP_LEVELS) + "]".repeat(DEEP_LEVELS), "array", `[…${DEEP_LEVELS} levels of arrays…]`);
export const deepObject = raw('{"a":'.repeat(DEEP_LEVELS) + "1" + "}".repeat(DEEP_LEVELS), "object", `{"a":…${DEEP_LEVELS} levels of objects…}`);

const BIG_STRING_BYTES = 10 * 2 ** 20;
export const bigString = raw(JSON.stringify("x".repeat(BIG_STRING_BYTES)), "string", `"x"×${BIG_STRING_BYTES}`);

/** Numbers at and past every edge a field might have: sign, zero, float where ints go, beyond 2^53, beyond float64. */
export const EDGE_NUMBERS: readonly unknown[] = [
  1e308,
  -1e308,
  -1,
  0,
  2 ** 53 + 1,
  -(2 ** 53 + 1),
  0.5,
  // JSON.parse reads these as ±Infinity.
  raw("1e309", "number"),
  raw("-1e309", "number"),
  // JSON has no NaN; clients that send one send text.
  "NaN",
  "Infinity",
  "-Infinity",
  "1e308",
  "9007199254740993",
  "-1",
  "0x10",
  "",
  " 1",
];

/** Strings that strain the parser, the tokenizer and whatever writes them out again. */
export const EDGE_STRINGS: readonly unknown[] = [
  "",
  "a\u0000b",
  "\u0000",
  // A lone surrogate: valid in JSON text, not valid UTF-16 text.
  "\ud800",
  rawString([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1], "invalid UTF-8 bytes"),
  rawString([0x61, 0x00, 0x62], "a raw NUL byte inside a string"),
  "\u202e\u200b\ufeff",
  "💥".repeat(1000),
];

/**
 * Names that try to leave the models folder. The sandbox's models folder sits two levels down
 * (root/a/b/models), with GGUF canaries where these land, so that serving or deleting one shows,
 * and so that nothing above the sandbox is ever reached even by a server that falls for them.
 */
export function nameTricks(sandboxRoot: string): string[] {
  return [
    "../canary",
    "../../canary",
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e",
    "..",
    ".",
    `${sandboxRoot}/outside/canary`,
    `${sandboxRoot}/outside/canary.gguf`,
    "/etc/passwd",
    "C:\\",
    "C:\\Windows\\win.ini",
    "..\\..\\canary",
    "tiny/../../canary",
    "tiny/../../../outside/canary",
    "....//....//canary",
    "~/canary",
    "file:///etc/passwd",
    "\\\\server\\share\\model",
    "tiny\u0000",
    "tiny\u0000/../../canary",
    ".hidden",
    "a".repeat(300),
  ];
}

export const UNKNOWN_MODELS: readonly string[] = ["absent-model", "absent:tag", "tiny:absent-tag", "example.com/ns/absent:tag"];

/** A JSON body with Raw pieces spliced in where they stand in the value. */
export function encodeBody(value: unknown): Uint8Array<ArrayBuffer> {
  const pieces: Raw[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (!(v instanceof Raw)) return v;
    pieces.push(v);
    return `\u0001raw${pieces.length - 1}\u0001`;
  });
  const parts: Uint8Array[] = [];
  let rest = text;
  for (let i = 0; i < pieces.length; i++) {
    const marker = JSON.stringify(`\u0001raw${i}\u0001`);
    const at = rest.indexOf(marker);
    parts.push(encoder.encode(rest.slice(0, at)), pieces[i]!.bytes);
    rest = rest.slice(at + marker.length);
  }
  parts.push(encoder.encode(rest));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** How a case names a value: short, printable, Raw pieces by their label. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Raw ? `<${v.label}>` : v));
  return text.length > 120 ? `${text.slice(0, 100)}…(${text.length} chars)` : text;
}
