import { Elysia, t } from "elysia";

/**
 * What /api/version reports: the Ollama release whose API Hearth answers like, not Hearth's own
 * version (`hearth --version`). Clients compare it with the release that introduced a feature
 * (VS Code's Copilot Chat refuses servers below 0.6.4, others gate thinking or embedding
 * dimensions on it), so Hearth's own 0.x number would make them refuse or switch features off.
 * 0.12.11 is the first release with everything Hearth implements (`think` levels 0.11, embedding
 * `dimensions` 0.11.11, logprobs 0.12.11) and older than what it lacks (/v1/messages, 0.14).
 */
const OLLAMA_API_VERSION = "0.12.11";

/** The probes Ollama clients send to find a server: GET / and the version. */
export function versionRoutes() {
  return new Elysia({ name: "ollama-version", detail: { tags: ["Ollama"] } })
    .get("/", () => new Response("Hearth is running", { headers: { "content-type": "text/plain; charset=utf-8" } }), {
      response: { 200: t.String({ description: '"Hearth is running" as text/plain' }) },
      detail: { summary: "Probe the server", description: "Ollama clients probe / for a 200 (Ollama answers \"Ollama is running\"). HEAD answers the same without a body." },
    })
    .get("/api/version", () => ({ version: OLLAMA_API_VERSION }), {
      response: { 200: t.Object({ version: t.String({ description: "The Ollama API version Hearth is compatible with" }) }) },
      detail: { summary: "Version", description: `Ollama-compatible. Reports ${OLLAMA_API_VERSION}, the Ollama release whose API Hearth implements; HEAD answers the same without a body.` },
    });
}
