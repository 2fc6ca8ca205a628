import { InvalidRequestError } from "../../errors.ts";
import { itemId } from "./events.ts";
import type { ContentPartT, CreateResponseRequestT, InputItemT, ItemResourceT } from "./schemas.ts";

/**
 * Input items (a request's, or the stored ones it continues) as they are stored, in OpenAI's shape:
 * each with an id (its own, or a new one like those of the output), a status, a message's content
 * as parts. Images and files are refused before anything is stored, so only text is left to keep.
 */
export function toStoredItems(input: string | readonly InputItemT[] | undefined): ItemResourceT[] {
  if (input === undefined) return [];
  if (typeof input === "string") return [{ type: "message", id: itemId("msg"), role: "user", status: "completed", content: [{ type: "input_text", text: input }] }];
  return input.map(toStoredItem);
}

function toStoredItem(item: InputItemT): ItemResourceT {
  const status = item.status ?? "completed";
  switch (item.type) {
    case "function_call":
      return { type: "function_call", id: item.id ?? itemId("fc"), call_id: item.call_id, name: item.name, arguments: item.arguments, status };
    case "function_call_output": {
      const output = typeof item.output === "string" ? item.output : texts(item.output).map(({ text }) => ({ type: "input_text" as const, text }));
      return { type: "function_call_output", id: item.id ?? itemId("fco"), call_id: item.call_id, output, status };
    }
    case "file_search_call":
      return { type: "file_search_call", id: item.id, status: "completed", queries: item.queries, results: item.results ?? null };
    case "reasoning":
      return {
        type: "reasoning",
        id: item.id ?? itemId("rs"),
        summary: item.summary ?? [],
        content: (item.content ?? []).map(({ text }) => ({ type: "reasoning_text" as const, text })),
        ...(item.encrypted_content != null && { encrypted_content: item.encrypted_content }),
        status,
      };
    default: {
      const id = item.id ?? itemId("msg");
      if (item.role === "assistant") {
        const content = texts(item.content).map(({ text, refusal }) =>
          refusal ? { type: "refusal" as const, refusal: text } : { type: "output_text" as const, text, annotations: [], logprobs: [] },
        );
        return { type: "message", id, role: "assistant", status, content };
      }
      return { type: "message", id, role: item.role, status, content: texts(item.content).map(({ text }) => ({ type: "input_text" as const, text })) };
    }
  }
}

interface Text {
  text: string;
  refusal: boolean;
}

function texts(content: string | ContentPartT[]): Text[] {
  if (typeof content === "string") return [{ text: content, refusal: false }];
  return content.flatMap((part): Text[] => (part.type === "refusal" ? [{ text: part.refusal, refusal: true }] : "text" in part ? [{ text: part.text, refusal: false }] : []));
}

/**
 * An input item whose id the history, or an earlier input item, already has is refused as OpenAI
 * refuses it: sent back while also continuing the response that produced it, the item would be read twice.
 */
export function refuseDuplicateIds(history: readonly InputItemT[], input: CreateResponseRequestT["input"]): void {
  if (!Array.isArray(input)) return;
  const seen = new Set(history.map((item) => item.id));
  input.forEach((item, index) => {
    if (item.id == null) return;
    if (seen.has(item.id)) throw new InvalidRequestError(`Duplicate item found with id ${item.id}: remove duplicate items from your input and try again.`, `input[${index}].id`);
    seen.add(item.id);
  });
}
