import { parseArgs } from "node:util";
import { UsageError } from "../options.ts";
import { ClientError, HearthClient } from "./api.ts";
import { create } from "./create.ts";
import { serverUrl } from "./host.ts";
import { copy, list, ps, remove, stop } from "./models.ts";
import { run } from "./run.ts";
import { fetchShow, showField, showInfo, type ShowField } from "./show.ts";
import { pull, push } from "./transfer.ts";

/** A flag: its name, value placeholder (none for a switch), short letter and help. */
interface Flag {
  name: string;
  value?: string;
  short?: string;
  help: string;
}

interface Command {
  usage: string;
  summary: string;
  flags: Flag[];
  /** positional arguments: at least, at most */
  args: [number, number];
  run(args: string[], flags: Record<string, string | boolean | undefined>, client: HearthClient): Promise<number>;
}

const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
const print = (text: string) => process.stdout.write(text);
const insecure: Flag = { name: "insecure", help: "Use an insecure registry" };
const SHOW_FIELDS: ShowField[] = ["license", "modelfile", "parameters", "system", "template"];

const COMMANDS: Record<string, Command> = {
  create: {
    usage: "create MODEL",
    summary: "Create a model from a Modelfile",
    flags: [{ name: "file", short: "f", value: "FILE", help: 'Name of the Modelfile (default "Modelfile")' }],
    args: [1, 1],
    async run([model], flags, client) {
      await create(client, model!, flags.file as string | undefined, io.stderr);
      return 0;
    },
  },
  show: {
    usage: "show MODEL",
    summary: "Show information for a model",
    flags: SHOW_FIELDS.map((name) => ({ name, help: `Show ${name === "modelfile" ? "Modelfile" : name === "system" ? "system message" : name} of a model` })),
    args: [1, 1],
    async run([model], flags, client) {
      const fields = SHOW_FIELDS.filter((f) => flags[f]);
      if (fields.length > 1) throw new ClientError("only one of '--license', '--modelfile', '--parameters', '--system', or '--template' can be specified");
      const info = await fetchShow(client, model!);
      print(fields[0] ? showField(info, fields[0]) : showInfo(info));
      return 0;
    },
  },
  run: {
    usage: "run MODEL [PROMPT]",
    summary: "Run a model",
    flags: [
      { name: "think", value: "[=LEVEL]", help: "Think before answering: --think, --think=false, or a level such as high (default: on for models that can)" },
      { name: "hidethinking", help: "Hide thinking output (if provided)" },
      { name: "format", value: "FORMAT", help: "Response format (e.g. json)" },
      { name: "keepalive", value: "DUR", help: "Duration to keep the model loaded (e.g. 5m)" },
      { name: "interactive", short: "i", help: "Chat even when stdin is not a terminal (lines read from it)" },
      insecure,
    ],
    args: [1, Infinity],
    run([model, ...prompt], flags, client) {
      const think = flags.think as string | undefined;
      return run(
        client,
        {
          model: model!,
          prompt,
          think: think === undefined ? undefined : think === "true" || think === "" ? true : think === "false" ? false : think,
          hideThinking: Boolean(flags.hidethinking),
          format: flags.format as string | undefined,
          keepAlive: flags.keepalive as string | undefined,
          insecure: Boolean(flags.insecure),
          interactive: Boolean(flags.interactive),
        },
        io,
      );
    },
  },
  stop: {
    usage: "stop MODEL",
    summary: "Stop a running model",
    flags: [],
    args: [1, 1],
    async run([model], _flags, client) {
      await stop(client, model!);
      return 0;
    },
  },
  pull: {
    usage: "pull MODEL",
    summary: "Pull a model from a registry",
    flags: [insecure],
    args: [1, 1],
    async run([model], flags, client) {
      await pull(client, model!, Boolean(flags.insecure), io.stderr);
      return 0;
    },
  },
  push: {
    usage: "push MODEL",
    summary: "Push a model to a registry",
    flags: [insecure],
    args: [1, 1],
    async run([model], flags, client) {
      print(await push(client, model!, Boolean(flags.insecure), io.stderr));
      return 0;
    },
  },
  list: {
    usage: "list [PREFIX]",
    summary: "List models (alias: ls)",
    flags: [],
    args: [0, 1],
    async run([prefix], _flags, client) {
      print(await list(client, prefix));
      return 0;
    },
  },
  ps: {
    usage: "ps [PREFIX]",
    summary: "List running models",
    flags: [],
    args: [0, 1],
    async run([prefix], _flags, client) {
      print(await ps(client, prefix));
      return 0;
    },
  },
  cp: {
    usage: "cp SOURCE DESTINATION",
    summary: "Copy a model",
    flags: [],
    args: [2, 2],
    async run([source, destination], _flags, client) {
      print(`${await copy(client, source!, destination!)}\n`);
      return 0;
    },
  },
  rm: {
    usage: "rm MODEL [MODEL...]",
    summary: "Remove a model",
    flags: [],
    args: [1, Infinity],
    async run(models, _flags, client) {
      await remove(client, models, (line) => print(`${line}\n`));
      return 0;
    },
  },
};

const ALIASES: Record<string, string> = { ls: "list" };

export function isClientCommand(name: string): boolean {
  return name in COMMANDS || name in ALIASES;
}

const ENVIRONMENT = `Environment Variables:
      HEARTH_HOST   The server to talk to: host, host:port or http(s)://host:port (default 127.0.0.1)
      HEARTH_PORT   Its port when HEARTH_HOST names none (default 11435)
      HEARTH_API_KEY  The key to send, when the server asks for one
`;

function commandHelp(name: string, command: Command): string {
  const flags = [...command.flags, { name: "help", short: "h", help: `help for ${name}` }];
  const lefts = flags.map((f) => `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.value ? (f.value.startsWith("[") ? f.value : ` ${f.value}`) : ""}`);
  const width = Math.max(...lefts.map((l) => l.length));
  const flagLines = flags.map((f, i) => `  ${lefts[i]!.padEnd(width)}   ${f.help}`).join("\n");
  return `${command.summary}\n\nUsage:\n  hearth ${command.usage} [flags]\n\nFlags:\n${flagLines}\n\n${ENVIRONMENT}`;
}

/** The client commands' lines for `hearth --help`. */
export function clientUsage(): string {
  return Object.values(COMMANDS)
    .map((c) => `  hearth ${c.usage.padEnd(24)}${c.summary.charAt(0).toLowerCase()}${c.summary.slice(1)}`)
    .join("\n");
}

/** `--think` alone means true; parseArgs only knows flags that always or never take a value. */
function normalizeThink(argv: string[]): string[] {
  return argv.map((a) => (a === "--think" ? "--think=true" : a));
}

/**
 * Runs a command against the server HEARTH_HOST names. Failures the server or the connection
 * report print as `Error: <message>` and exit 1; bad arguments are usage errors.
 */
export async function runClientCommand(name: string, argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const commandName = ALIASES[name] ?? name;
  const command = COMMANDS[commandName]!;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: commandName === "run" ? normalizeThink(argv) : argv,
      options: Object.fromEntries([
        ["help", { type: "boolean", short: "h" }],
        ...command.flags.map((f) => [f.name, { type: f.value ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) }]),
      ]),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (hearth ${commandName} --help)`);
  }
  if (parsed.values.help) {
    print(commandHelp(commandName, command));
    return 0;
  }
  const [min, max] = command.args;
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new UsageError(`${commandName} takes ${expected} argument${min === 1 && max === 1 ? "" : "s"}, got ${count} (usage: hearth ${command.usage})`);
  }
  const client = new HearthClient(serverUrl(env), env.HEARTH_API_KEY || undefined);
  try {
    return await command.run(parsed.positionals, parsed.values as Record<string, string | boolean | undefined>, client);
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    process.stderr.write(`Error: ${err.message}\n`);
    return 1;
  }
}
