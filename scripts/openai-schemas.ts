/**
 * Vendors the OpenAI response schemas the tests validate against (`npm run openai-schemas`).
 *
 *   bun scripts/openai-schemas.ts [path/to/openapi.yaml]     default: ../shared/reference/openai/openapi.yaml
 *
 * Writes test/fixtures/openai-schemas.json: the root schemas below and every component schema they
 * reference, copied verbatim, with the commit of the spec (the VERSION file beside openapi.yaml).
 * The tests need only this file, so they run in a clone without ../shared.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { parse } from "yaml";

const ROOT = join(import.meta.dir, "..");
export const DEFAULT_SPEC = resolve(ROOT, "..", "shared", "reference", "openai", "openapi.yaml");
export const FIXTURE = join(ROOT, "test", "fixtures", "openai-schemas.json");

export const ROOT_SCHEMAS = [
  "CreateChatCompletionResponse",
  "CreateChatCompletionStreamResponse",
  "CreateCompletionResponse",
  "CreateEmbeddingResponse",
  "ListModelsResponse",
  "Model",
  "Response",
  "ResponseStreamEvent",
  "TokenCountsResource",
  "ConversationResource",
  "ConversationItem",
  "ConversationItemList",
  "DeletedConversationResource",
  "ChatCompletionList",
  "ChatCompletionMessageList",
  "ChatCompletionDeleted",
  "ResponseItemList",
  "OpenAIFile",
  "ListFilesResponse",
  "DeleteFileResponse",
  "VectorStoreObject",
  "ListVectorStoresResponse",
  "DeleteVectorStoreResponse",
  "VectorStoreFileObject",
  "ListVectorStoreFilesResponse",
  "DeleteVectorStoreFileResponse",
  "VectorStoreFileContentResponse",
  "VectorStoreSearchResultsPage",
] as const;

export type RootSchema = (typeof ROOT_SCHEMAS)[number];

export interface OpenAiSchemas {
  spec: { commit: string; date: string; openapi: string; version: string };
  roots: RootSchema[];
  // Kept under the spec's own path so its `#/components/schemas/X` refs resolve unchanged.
  components: { schemas: Record<string, unknown> };
}

const REF_PREFIX = "#/components/schemas/";

function collectRefs(node: unknown, into: string[]) {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into);
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") {
        if (!value.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${value}: only ${REF_PREFIX}* is vendored`);
        into.push(value.slice(REF_PREFIX.length));
      } else {
        collectRefs(value, into);
      }
    }
  }
}

/** The roots' $ref closure out of the spec's text; `versionFile` is the VERSION file (commit, then date). */
export function extractSchemas(specYaml: string, versionFile: string): OpenAiSchemas {
  const spec = parse(specYaml, { maxAliasCount: -1 }) as { openapi: string; info: { version: string }; components: { schemas: Record<string, unknown> } };
  const [commit = "", date = ""] = versionFile.trim().split("\n").map((line) => line.trim());
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`VERSION does not start with a commit id: ${JSON.stringify(commit)}`);

  const all = spec.components.schemas;
  const closure = new Set<string>();
  const pending: string[] = [...ROOT_SCHEMAS];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (closure.has(name)) continue;
    if (!(name in all)) throw new Error(`schema ${name} is not in the spec`);
    closure.add(name);
    collectRefs(all[name], pending);
  }

  const schemas = Object.fromEntries([...closure].sort().map((name) => [name, all[name]]));
  return { spec: { commit, date, openapi: spec.openapi, version: spec.info.version }, roots: [...ROOT_SCHEMAS], components: { schemas } };
}

export async function readSpec(specPath = DEFAULT_SPEC): Promise<OpenAiSchemas> {
  const [yaml, version] = await Promise.all([readFile(specPath, "utf8"), readFile(join(dirname(specPath), "VERSION"), "utf8")]);
  return extractSchemas(yaml, version);
}

export const renderFixture = (schemas: OpenAiSchemas) => JSON.stringify(schemas, null, 2) + "\n";

if (import.meta.main) {
  const specPath = resolve(process.argv[2] ?? DEFAULT_SPEC);
  const schemas = await readSpec(specPath);
  await writeFile(FIXTURE, renderFixture(schemas));
  const count = Object.keys(schemas.components.schemas).length;
  console.log(`wrote ${relative(process.cwd(), FIXTURE)}: ${count} schemas from ${specPath} at ${schemas.spec.commit}`);
}
