import { promisify } from "node:util";
import zlib from "node:zlib";

/** A body whose Content-Encoding cannot be undone: unknown, corrupt, or too large once decoded. */
export class ContentEncodingError extends Error {}

type Decoder = (bytes: Uint8Array, options: { maxOutputLength: number }) => Promise<Uint8Array>;

const DECODERS: Record<string, Decoder> = {
  gzip: promisify(zlib.gunzip),
  "x-gzip": promisify(zlib.gunzip),
  // RFC 9110's deflate is zlib-wrapped; some clients send it raw, which unzip does not take, so both are tried.
  deflate: async (bytes, options) => {
    try {
      return await promisify(zlib.inflate)(bytes, options);
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw err;
      return await promisify(zlib.inflateRaw)(bytes, options);
    }
  },
  br: promisify(zlib.brotliDecompress),
  // Codex CLI compresses its requests with zstd.
  zstd: promisify(zlib.zstdDecompress),
};

export const SUPPORTED_ENCODINGS = Object.keys(DECODERS);

/**
 * The body with its Content-Encoding undone (`gzip`, `deflate`, `br`, `zstd`, or several in the
 * order applied), at most `maxBytes` once decoded: the size limit is checked on the bytes as
 * sent, and a small compressed body must not turn into gigabytes here.
 */
export async function decodeContent(bytes: Uint8Array, header: string | null, maxBytes: number): Promise<Uint8Array> {
  const codings = (header ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  let body = bytes;
  // Listed in the order they were applied, so undone from the last.
  for (const coding of codings.reverse()) {
    const decode = DECODERS[coding];
    if (!decode) {
      throw new ContentEncodingError(`The request's Content-Encoding "${coding}" is not supported; send the body as is or with one of: ${SUPPORTED_ENCODINGS.join(", ")}.`);
    }
    try {
      body = await decode(body, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw new ContentEncodingError(`The request body decompresses to more than ${maxBytes} bytes, the limit.`);
      }
      throw new ContentEncodingError(`The request body does not decode as its Content-Encoding "${coding}" says (${(err as Error).message}).`);
    }
  }
  return body;
}
