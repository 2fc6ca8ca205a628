import { describe, expect, test } from "bun:test";
import { resolveServeOptions, serveHelp, SERVE_OPTIONS, UsageError } from "../../src/cli/options.ts";

describe("serve options", () => {
  test("defaults apply when neither flag nor env is given; threads stay unset for the runtime to decide", () => {
    expect(resolveServeOptions([], {})).toEqual({ host: "127.0.0.1", port: 11435, models: "./models", ctxSize: 4096, parallel: 4, gpu: "auto", maxQueue: 512, keepAliveMs: 300_000, maxLoadedModels: 3, memoryBudget: "auto", flashAttention: "auto", shutdownTimeoutMs: 30_000, predictionDrafting: "auto", instructModels: [], noAuth: false, jwtProjectClaim: "project", corsOrigins: [], maxFileSize: 512_000_000 });
  });

  test("environment variables override defaults and flags override environment variables", () => {
    const env = { HEARTH_PORT: "9000", HEARTH_HOST: "0.0.0.0", HEARTH_THREADS: "3", HEARTH_GPU: "vulkan" };
    const fromEnv = resolveServeOptions([], env);
    expect(fromEnv).toMatchObject({ port: 9000, host: "0.0.0.0", threads: 3, gpu: "vulkan" });
    const fromFlags = resolveServeOptions(["--port", "9100", "--threads", "1", "--gpu", "cpu", "--ctx-size", "2048", "--parallel", "2", "--models", "/m", "--max-queue", "0", "--keep-alive", "1h30m"], env);
    expect(fromFlags).toEqual({ host: "0.0.0.0", port: 9100, threads: 1, gpu: "cpu", ctxSize: 2048, parallel: 2, models: "/m", maxQueue: 0, keepAliveMs: 5_400_000, maxLoadedModels: 3, memoryBudget: "auto", flashAttention: "auto", shutdownTimeoutMs: 30_000, predictionDrafting: "auto", instructModels: [], noAuth: false, jwtProjectClaim: "project", corsOrigins: [], maxFileSize: 512_000_000 });
    expect(resolveServeOptions([], { HEARTH_KEEP_ALIVE: "-1" }).keepAliveMs).toBe(Infinity);
    expect(resolveServeOptions([], { HEARTH_KEEP_ALIVE: "30" }).keepAliveMs).toBe(30_000);
    expect(resolveServeOptions(["--flash-attention", "on"], {}).flashAttention).toBe("on");
  });

  test("authentication and store options: switches, origins, and JWTs that need an issuer and an audience", () => {
    expect(resolveServeOptions(["--no-auth"], {}).noAuth).toBe(true);
    expect(resolveServeOptions([], { HEARTH_NO_AUTH: "1" }).noAuth).toBe(true);
    expect(() => resolveServeOptions([], { HEARTH_NO_AUTH: "maybe" })).toThrow("HEARTH_NO_AUTH");
    expect(resolveServeOptions(["--data-dir", "/srv/hearth"], {}).dataDir).toBe("/srv/hearth");
    expect(resolveServeOptions(["--cors-origin", "http://localhost:3000/", "--cors-origin", "*"], {}).corsOrigins).toEqual(["http://localhost:3000", "*"]);
    expect(resolveServeOptions([], { HEARTH_CORS_ORIGINS: "https://a.home.arpa,https://b.home.arpa" }).corsOrigins).toEqual(["https://a.home.arpa", "https://b.home.arpa"]);
    expect(() => resolveServeOptions(["--cors-origin", "https://a.home.arpa/path"], {})).toThrow("--cors-origin");
    expect(() => resolveServeOptions(["--jwt-jwks-url", "https://sso/jwks"], {})).toThrow("--jwt-issuer and --jwt-audience");
    expect(() => resolveServeOptions(["--jwt-jwks-url", "ftp://sso/jwks", "--jwt-issuer", "i", "--jwt-audience", "a"], {})).toThrow("http(s) URL");
    expect(() => resolveServeOptions(["--jwt-jwks-url", "https://sso/jwks", "--jwt-secret-file", "/s", "--jwt-issuer", "i", "--jwt-audience", "a"], {})).toThrow("cannot be combined");
    expect(resolveServeOptions(["--jwt-secret-file", "/s", "--jwt-issuer", "i", "--jwt-audience", "a"], {})).toMatchObject({ jwtSecretFile: "/s", jwtIssuer: "i", jwtAudience: "a", jwtProjectClaim: "project" });
  });

  test("Ollama's variables are read where Hearth's own are not set", () => {
    const ollama = { OLLAMA_NUM_PARALLEL: "2", OLLAMA_MAX_LOADED_MODELS: "1", OLLAMA_MAX_QUEUE: "7", OLLAMA_KEEP_ALIVE: "10m" };
    expect(resolveServeOptions([], ollama)).toMatchObject({ parallel: 2, maxLoadedModels: 1, maxQueue: 7, keepAliveMs: 600_000 });
    expect(resolveServeOptions([], { ...ollama, HEARTH_PARALLEL: "8" }).parallel).toBe(8);
    expect(resolveServeOptions(["--parallel", "3"], ollama).parallel).toBe(3);
    expect(() => resolveServeOptions([], { OLLAMA_NUM_PARALLEL: "many" })).toThrow(/OLLAMA_NUM_PARALLEL must be a positive integer/);
  });

  test("memory budgets read as sizes with decimal or binary units", () => {
    expect(resolveServeOptions(["--memory-budget", "16GiB"], {}).memoryBudget).toBe(16 * 2 ** 30);
    expect(resolveServeOptions(["--memory-budget", "1.5GB"], {}).memoryBudget).toBe(1.5e9);
    expect(resolveServeOptions([], { HEARTH_MEMORY_BUDGET: "65536" }).memoryBudget).toBe(65536);
    expect(() => resolveServeOptions(["--memory-budget", "lots"], {})).toThrow(/--memory-budget must be "auto" or a size/);
    expect(() => resolveServeOptions(["--memory-budget", "5 parsecs"], {})).toThrow(UsageError);
  });

  test("bad values name the flag or variable that carried them", () => {
    expect(() => resolveServeOptions(["--port", "http"], {})).toThrow(new UsageError('--port must be a port number 0-65535, got "http"'));
    expect(() => resolveServeOptions([], { HEARTH_THREADS: "0" })).toThrow(/HEARTH_THREADS must be a positive integer/);
    expect(() => resolveServeOptions(["--gpu", "tpu"], {})).toThrow(/--gpu must be one of auto, cuda, metal, vulkan, cpu/);
    expect(() => resolveServeOptions(["--colour", "red"], {})).toThrow(UsageError);
    expect(() => resolveServeOptions(["--keep-alive", "soon"], {})).toThrow(/--keep-alive must be a duration/);
    expect(() => resolveServeOptions([], { HEARTH_FLASH_ATTENTION: "yes" })).toThrow(/HEARTH_FLASH_ATTENTION must be one of auto, on, off/);
  });

  test("files and vector stores: an embedding model by name, and a file size limit with units", () => {
    expect(resolveServeOptions([], { HEARTH_EMBEDDING_MODEL: "nomic-embed-text" }).embeddingModel).toBe("nomic-embed-text");
    expect(resolveServeOptions(["--embedding-model", "embed"], { HEARTH_EMBEDDING_MODEL: "other" }).embeddingModel).toBe("embed");
    expect(resolveServeOptions(["--max-file-size", "2GiB"], {}).maxFileSize).toBe(2 * 2 ** 30);
    expect(resolveServeOptions([], { HEARTH_MAX_FILE_SIZE: "1024" }).maxFileSize).toBe(1024);
    expect(() => resolveServeOptions(["--max-file-size", "auto"], {})).toThrow(/--max-file-size must be a size/);
  });

  test("the shutdown timeout is a duration, not negative", () => {
    expect(resolveServeOptions(["--shutdown-timeout", "2m"], {}).shutdownTimeoutMs).toBe(120_000);
    expect(resolveServeOptions([], { HEARTH_SHUTDOWN_TIMEOUT: "0" }).shutdownTimeoutMs).toBe(0);
    expect(resolveServeOptions([], { HEARTH_SHUTDOWN_TIMEOUT: "1.5" }).shutdownTimeoutMs).toBe(1_500);
    expect(() => resolveServeOptions(["--shutdown-timeout=-1"], {})).toThrow(/--shutdown-timeout must not be negative/);
    expect(() => resolveServeOptions([], { HEARTH_SHUTDOWN_TIMEOUT: "soon" })).toThrow(/HEARTH_SHUTDOWN_TIMEOUT must be a duration/);
  });

  test("--instruct-model pairs repeat, from flags or a comma-separated variable, and are checked", () => {
    const pairs = [{ thinking: "qwen3:4b-thinking", instruct: "qwen3:4b-instruct" }, { thinking: "r1", instruct: "v3" }];
    expect(resolveServeOptions(["--instruct-model", "qwen3:4b-thinking=qwen3:4b-instruct", "--instruct-model", "r1=v3"], {}).instructModels).toEqual(pairs);
    expect(resolveServeOptions([], { HEARTH_INSTRUCT_MODELS: "qwen3:4b-thinking=qwen3:4b-instruct, r1=v3" }).instructModels).toEqual(pairs);
    // flags win over the variable, as for every option
    expect(resolveServeOptions(["--instruct-model", "r1=v3"], { HEARTH_INSTRUCT_MODELS: "a=b" }).instructModels).toEqual([pairs[1]!]);
    expect(() => resolveServeOptions(["--instruct-model", "r1"], {})).toThrow(new UsageError('--instruct-model must be THINKING=INSTRUCT (two model names), got "r1"'));
    expect(() => resolveServeOptions([], { HEARTH_INSTRUCT_MODELS: "r1=" })).toThrow(/HEARTH_INSTRUCT_MODELS must be THINKING=INSTRUCT/);
    expect(() => resolveServeOptions(["--instruct-model", "r1=R1"], {})).toThrow(/pairs a model with itself/);
  });

  test("--rerank-model names the default reranker, from the flag or HEARTH_RERANK_MODEL; none by default", () => {
    expect(resolveServeOptions([], {}).rerankModel).toBeUndefined();
    expect(resolveServeOptions(["--rerank-model", "bge-reranker"], {}).rerankModel).toBe("bge-reranker");
    expect(resolveServeOptions([], { HEARTH_RERANK_MODEL: "qwen3-reranker:0.6b" }).rerankModel).toBe("qwen3-reranker:0.6b");
    expect(resolveServeOptions(["--rerank-model", "a"], { HEARTH_RERANK_MODEL: "b" }).rerankModel).toBe("a");
  });

  test("--help lists every option with its env var and default", () => {
    const help = serveHelp();
    for (const option of SERVE_OPTIONS) {
      expect(help).toContain(`--${option.flag}`);
      expect(help).toContain(`env ${option.env}${option.ollamaEnv ? ` (or ${option.ollamaEnv})` : ""}, default ${option.default}`);
    }
  });

  test("--help starts every option's text in one column, at least two spaces past the longest flag", () => {
    const lines = serveHelp().split("\n");
    const column = lines[0]!.indexOf(SERVE_OPTIONS[0]!.help);
    for (const [i, option] of SERVE_OPTIONS.entries()) {
      const flagLine = lines[2 * i]!;
      expect(flagLine.indexOf(option.help)).toBe(column);
      expect(flagLine.slice(0, column)).toMatch(new RegExp(`^  --${option.flag} ${option.placeholder} {2,}$`));
      expect(lines[2 * i + 1]!.indexOf("env ")).toBe(column);
    }
  });
});

describe("HEARTH_HOST with a port, as Ollama's OLLAMA_HOST", () => {
  test("host:port, [v6]:port and http://host:port set both; an explicit port wins", () => {
    expect(resolveServeOptions([], { HEARTH_HOST: "0.0.0.0:8080" })).toMatchObject({ host: "0.0.0.0", port: 8080 });
    expect(resolveServeOptions([], { HEARTH_HOST: "http://127.0.0.1:9000/" })).toMatchObject({ host: "127.0.0.1", port: 9000 });
    expect(resolveServeOptions([], { HEARTH_HOST: "[::1]:7000" })).toMatchObject({ host: "::1", port: 7000 });
    expect(resolveServeOptions([], { HEARTH_HOST: "::1" })).toMatchObject({ host: "::1", port: 11435 });
    expect(resolveServeOptions(["--port", "1234"], { HEARTH_HOST: "0.0.0.0:8080" })).toMatchObject({ host: "0.0.0.0", port: 1234 });
    expect(resolveServeOptions([], { HEARTH_HOST: "0.0.0.0:8080", HEARTH_PORT: "4321" })).toMatchObject({ port: 4321 });
    expect(() => resolveServeOptions([], { HEARTH_HOST: "0.0.0.0:99999" })).toThrow("HEARTH_HOST");
  });
});
