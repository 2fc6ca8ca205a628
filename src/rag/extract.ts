import { extname } from "node:path";
import type { FileError } from "../store/vector-stores.ts";
import { htmlText, looksLikeHtml } from "./html-text.ts";

/** A file whose text cannot be read: it fails its ingestion with this error, in OpenAI's `last_error` shape. */
export class FileTextError extends Error {
  constructor(
    readonly code: FileError["code"],
    message: string,
  ) {
    super(message);
  }
}

const HTML_EXTENSIONS = new Set([".html", ".htm", ".xhtml"]);
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The text of a file to be chunked: PDF through pdf.js (unpdf's build, which needs no canvas or
 * worker), HTML with its tags stripped, and anything else that is UTF-8 text (plain text,
 * Markdown, JSON, CSV, source code) as it is. Binary files (a NUL byte, or bytes that are not
 * UTF-8) are unsupported, whatever their names say.
 */
export async function extractText(bytes: Uint8Array, filename: string): Promise<string> {
  const extension = extname(filename).toLowerCase();
  const text = extension === ".pdf" || startsWith(bytes, "%PDF-") ? await pdfText(bytes) : plainText(bytes, extension);
  if (text.trim() === "") throw new FileTextError("invalid_file", `${filename} holds no text to index`);
  return text;
}

function plainText(bytes: Uint8Array, extension: string): string {
  if (bytes.subarray(0, 8192).includes(0)) throw new FileTextError("unsupported_file", `the file is binary (it holds NUL bytes); text, Markdown, HTML, JSON, CSV, source code and PDF files can be indexed`);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new FileTextError("unsupported_file", "the file is neither UTF-8 text nor a PDF; text, Markdown, HTML, JSON, CSV, source code and PDF files can be indexed");
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return HTML_EXTENSIONS.has(extension) || (extension === "" && looksLikeHtml(text)) ? htmlText(text) : text;
}

async function pdfText(bytes: Uint8Array): Promise<string> {
  // Loaded on first use: pdf.js is megabytes of script that a server without PDFs never needs.
  const { extractText: pdfPages, getDocumentProxy } = await import("unpdf");
  try {
    // pdf.js takes over the buffer it is given: a copy keeps the caller's bytes intact.
    const document = await getDocumentProxy(new Uint8Array(bytes));
    const { text } = await pdfPages(document, { mergePages: false });
    await document.cleanup();
    return text.join("\n\n");
  } catch (err) {
    throw new FileTextError("invalid_file", `the PDF cannot be read: ${(err as Error).message}`);
  }
}

function startsWith(bytes: Uint8Array, prefix: string): boolean {
  return bytes.length >= prefix.length && [...prefix].every((char, i) => bytes[i] === char.charCodeAt(0));
}
