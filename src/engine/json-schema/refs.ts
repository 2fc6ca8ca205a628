import { invalid, unenforceable } from "./errors.ts";

export interface Resolved {
  schema: unknown;
  /** where the target is, as an error path (".$defs.Node") */
  path: string;
  /** a readable rule name for it */
  name: string;
}

/**
 * Resolves "$ref"s as JSON pointers into the schema document itself ("#", "#/$defs/Node",
 * "#/definitions/x", "#/properties/a"). Other documents, $id bases and anchors are refused: a
 * request's schema has nothing else to point at.
 */
export function resolveRef(root: unknown, ref: unknown, path: string): Resolved {
  if (typeof ref !== "string") throw invalid(path, "$ref must be a string");
  if (!ref.startsWith("#")) throw unenforceable(path, `${JSON.stringify(ref)} points outside the schema; only references into it ("#/$defs/…") are supported`);
  const pointer = decodedFragment(ref.slice(1), path);
  if (pointer !== "" && !pointer.startsWith("/")) throw unenforceable(path, `${JSON.stringify(ref)} names an anchor; only JSON pointers ("#/$defs/…") are supported`);
  let schema = root;
  let at = "";
  let name = "root";
  for (const segment of pointer === "" ? [] : pointer.slice(1).split("/")) {
    const key = segment.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(schema) && /^\d+$/.test(key) && Number(key) < schema.length) {
      schema = schema[Number(key)];
      at += `[${key}]`;
    } else if (typeof schema === "object" && schema !== null && !Array.isArray(schema) && Object.hasOwn(schema, key)) {
      schema = (schema as Record<string, unknown>)[key];
      at += `.${key}`;
    } else {
      throw invalid(path, `dangling $ref: ${JSON.stringify(ref)} points to nothing in the schema`);
    }
    name = key;
  }
  return { schema, path: at, name };
}

function decodedFragment(fragment: string, path: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    throw invalid(path, `${JSON.stringify("#" + fragment)} is not a valid URI fragment`);
  }
}
