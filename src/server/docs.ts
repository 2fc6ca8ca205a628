import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
// Embedded as files so Swagger UI works offline and from the single executable; the plugin's
// default loads it from unpkg, which a home lab without internet cannot reach.
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { VERSION } from "../version.ts";

const ASSETS = "/swagger/assets";

export function docs() {
  return new Elysia({ name: "docs" })
    .get(`${ASSETS}/swagger-ui-bundle.js`, () => new Response(Bun.file(bundlePath), { headers: { "content-type": "text/javascript; charset=utf-8" } }), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui.css`, () => new Response(Bun.file(cssPath), { headers: { "content-type": "text/css; charset=utf-8" } }), { detail: { hide: true } })
    .use(
      openapi({
        provider: "swagger-ui",
        path: "/swagger",
        specPath: "/openapi.json",
        exclude: { paths: ["/swagger", "/openapi.json"] },
        swagger: { cdn: `${ASSETS}/swagger-ui-bundle.js`, theme: `${ASSETS}/swagger-ui.css`, autoDarkMode: false },
        documentation: {
          info: {
            title: "Hearth",
            version: VERSION,
            description: "Local LLM server: OpenAI-, Anthropic- and Ollama-compatible APIs over the GGUF models in one folder.",
          },
          tags: [
            { name: "OpenAI", description: "OpenAI-compatible API" },
            { name: "Ollama", description: "Ollama-compatible API" },
            { name: "Anthropic", description: "Anthropic-compatible Messages API (Claude Code, the Anthropic SDKs)" },
            { name: "llama.cpp", description: "llama.cpp server-compatible tokenizer and rerank routes" },
            { name: "Keys", description: "Hearth's API keys (the admin scope)" },
            { name: "Server", description: "Health and documentation" },
          ],
          // While authentication is on (any key, static key or JWT issuer configured), every route but
          // /health asks for one of these; see the README's Authentication section.
          components: {
            securitySchemes: {
              bearer: { type: "http", scheme: "bearer", description: "A Hearth API key (hth_…), a static key, or a JWT from the configured issuer" },
              apiKey: { type: "apiKey", in: "header", name: "x-api-key", description: "The same key, as Anthropic clients send it" },
            },
          },
          security: [{ bearer: [] }, { apiKey: [] }],
        },
      }),
    );
}
