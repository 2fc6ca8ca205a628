#!/usr/bin/env bun
import { clientUsage, isClientCommand, runClientCommand } from "./cli/client/commands.ts";
import { resolveServeOptions, serveHelp, UsageError } from "./cli/options.ts";
import { serve } from "./cli/serve.ts";
import { runKeys } from "./cli/keys.ts";
import { runService, ServiceError } from "./cli/service.ts";
import { GpuUnavailableError } from "./engine/runtime.ts";
import { VERSION } from "./version.ts";

const USAGE = `hearth ${VERSION}: a local LLM server with OpenAI- and Ollama-compatible APIs

Usage:
  hearth serve [options]    start the server
  hearth service install    run serve at login or boot as a systemd or launchd service
  hearth service uninstall  remove that service (hearth service --help for both)
  hearth keys create|list|revoke|rotate   manage API keys (hearth keys --help)
  hearth --version          print the version
  hearth --help             show this help

Client commands, for a running server (HEARTH_HOST, HEARTH_PORT; hearth COMMAND --help for each):
${clientUsage()}

Options for serve (flags win over environment variables):
${serveHelp()}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === "--version" || command === "-v" || command === "version") {
    console.log(VERSION);
    return 0;
  }
  if (command === "serve") {
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(USAGE);
      return 0;
    }
    const options = resolveServeOptions(rest, process.env);
    const server = await serve(options);
    // A second signal while draining cuts the requests still in flight instead of waiting for them.
    const shutdown = () =>
      server.stop(options.shutdownTimeoutMs).then(
        () => process.exit(0),
        (err) => {
          console.error(`hearth: shutdown failed: ${(err as Error).stack ?? err}`);
          process.exit(1);
        },
      );
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
    return -1;
  }
  if (command === "service") return runService(rest, process.env);
  if (command === "keys") return runKeys(rest, process.env);
  if (isClientCommand(command)) return runClientCommand(command, rest, process.env);
  throw new UsageError(`unknown command "${command}" (try --help)`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    const expected = err instanceof UsageError || err instanceof GpuUnavailableError || err instanceof ServiceError;
    console.error(`hearth: ${expected ? err.message : (err as Error).stack ?? err}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
