import { createInterface, type Interface } from "node:readline";
import { ClientError, type HearthClient } from "./api.ts";
import { type ChatRequest, streamChat } from "./chat.ts";
import { parameterValue } from "./parameters.ts";
import { fetchShow, showInfo } from "./show.ts";

export interface Session extends ChatRequest {
  system?: string;
  hideThinking: boolean;
  capabilities: string[];
}

export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const USAGE = `Available Commands:
  /set            Set session variables
  /show           Show model information
  /clear          Clear session context
  /bye            Exit
  /?, /help       Help for a command
  /? shortcuts    Help for keyboard shortcuts

Use """ to begin a multi-line message.

`;

const USAGE_SET = `Available Commands:
  /set parameter ...     Set a parameter
  /set system <string>   Set system message
  /set format json       Enable JSON mode
  /set noformat          Disable formatting
  /set think             Enable thinking
  /set nothink           Disable thinking

`;

const USAGE_SHOW = `Available Commands:
  /show info         Show details for this model
  /show license      Show model license
  /show modelfile    Show Modelfile for this model
  /show parameters   Show parameters for this model
  /show system       Show system message
  /show template     Show prompt template

`;

const USAGE_SHORTCUTS = `Available keyboard shortcuts:
  Ctrl + a            Move to the beginning of the line (Home)
  Ctrl + e            Move to the end of the line (End)
  Ctrl + k            Delete the sentence after the cursor
  Ctrl + u            Delete the sentence before the cursor
  Ctrl + w            Delete the word before the cursor

  Ctrl + l            Clear the screen
  Ctrl + c            Stop the model from responding
  Ctrl + d            Exit hearth (/bye)

`;

const USAGE_PARAMETERS = `Available Parameters:
  /set parameter seed <int>             Random number seed
  /set parameter num_predict <int>      Max number of tokens to predict
  /set parameter top_k <int>            Pick from top k num of tokens
  /set parameter top_p <float>          Pick token based on sum of probabilities
  /set parameter min_p <float>          Pick token based on top token probability * min_p
  /set parameter num_ctx <int>          Set the context size
  /set parameter temperature <float>    Set creativity level
  /set parameter repeat_penalty <float> How strongly to penalize repetitions
  /set parameter repeat_last_n <int>    Set how far back to look for repetitions
  /set parameter num_gpu <int>          The number of layers to send to the GPU
  /set parameter stop <string> <string> ...   Set the stop parameters

`;

/** Lines as they come, kept while an answer streams: piped input arrives all at once. */
class LineQueue {
  private readonly buffered: string[] = [];
  private waiting?: (line: string | undefined) => void;
  closed = false;

  constructor(rl: Interface) {
    rl.on("line", (line: string) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(line);
      else this.buffered.push(line);
    });
    rl.on("close", () => {
      this.closed = true;
      this.waiting?.(undefined);
    });
  }

  /** The next line, or undefined at the end of the input. */
  next(): Promise<string | undefined> {
    if (this.buffered.length > 0) return Promise.resolve(this.buffered.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/**
 * `hearth run NAME` without a prompt: Ollama's chat loop. Each message goes to /api/chat with
 * the conversation so far; `/` commands change the session. Works on a terminal (line editing,
 * Ctrl-C stops an answer) and on piped input (the lines are read as typed). Returns the exit code.
 */
export async function interactive(client: HearthClient, session: Session, io: Terminal): Promise<number> {
  const terminal = Boolean(io.stdin.isTTY && io.stdout.isTTY);
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal, prompt: ">>> " });
  const lines = new LineQueue(rl);
  const print = (text: string) => io.stdout.write(`${text}\n`);
  const help = (text: string) => io.stderr.write(text);
  // Piped lines may all have been read, and readline closed, before they are answered.
  const prompt = (text: string) => {
    if (!terminal) io.stdout.write(text);
    else if (!lines.closed) {
      rl.setPrompt(text);
      rl.prompt();
    }
  };

  let generating: AbortController | undefined;
  let interruptedIdle = false;
  let text = "";
  // Set from the /set handler too, which the compiler's narrowing does not follow.
  let multiline = "none" as "none" | "prompt" | "system";

  // Ctrl-C stops the answer, not the program. Idle on a terminal it clears the line; on piped
  // input, where nobody is typing, it ends the session.
  const interrupt = () => {
    if (generating) {
      generating.abort();
    } else if (terminal) {
      if (rl.line === "" && multiline === "none") print("\nUse Ctrl + d or /bye to exit.");
      else print("");
      text = "";
      multiline = "none";
      rl.write(null, { ctrl: true, name: "e" });
      rl.write(null, { ctrl: true, name: "u" });
      prompt(">>> ");
    } else {
      interruptedIdle = true;
      rl.close();
    }
  };
  rl.on("SIGINT", interrupt);
  process.on("SIGINT", interrupt);

  const setSystem = (system: string) => {
    session.system = system;
    const message = { role: "system", content: system };
    if (session.messages.at(-1)?.role === "system") session.messages[session.messages.length - 1] = message;
    else session.messages.push(message);
    print("Set system message.");
  };

  const set = (args: string[], line: string) => {
    switch (args[1]) {
      case undefined:
        help(USAGE_SET);
        break;
      case "think": {
        const level = args[2];
        session.think = level ?? true;
        if (!session.capabilities.includes("thinking")) io.stderr.write(`warning: model "${session.model}" does not support thinking output\n`);
        print(level ? `Set 'think' mode to '${level}'.` : "Set 'think' mode.");
        break;
      }
      case "nothink":
        session.think = false;
        if (!session.capabilities.includes("thinking")) io.stderr.write(`warning: model "${session.model}" does not support thinking output\n`);
        print("Set 'nothink' mode.");
        break;
      case "format":
        if (args[2] !== "json") print("Invalid or missing format. For 'json' mode use '/set format json'");
        else {
          session.format = "json";
          print("Set format to 'json' mode.");
        }
        break;
      case "noformat":
        session.format = undefined;
        print("Disabled format.");
        break;
      case "parameter": {
        const [, , name, ...values] = args;
        if (name === undefined || values.length === 0) {
          help(USAGE_PARAMETERS);
          break;
        }
        try {
          session.options[name] = parameterValue(name, values);
          print(`Set parameter '${name}' to '${values.join(", ")}'`);
        } catch (err) {
          if (!(err instanceof ClientError)) throw err;
          print(`Couldn't set parameter: ${JSON.stringify(err.message)}`);
        }
        break;
      }
      case "system": {
        if (args.length < 3) {
          help(USAGE_SET);
          break;
        }
        // The message is the rest of the line as typed, spaces and all; """ opens a multi-line one.
        let value = line.replace(/^\s*\/set\s+system\s+/, "");
        if (value.startsWith('"""')) {
          value = value.slice(3);
          if (value.endsWith('"""')) value = value.slice(0, -3);
          else {
            text = `${value}\n`;
            multiline = "system";
            break;
          }
        }
        setSystem(value);
        break;
      }
      default:
        print(`Unknown command '/set ${args[1]}'. Type /? for help`);
    }
  };

  const show = async (what: string | undefined) => {
    if (what === undefined) return help(USAGE_SHOW);
    const info = await fetchShow(client, session.model);
    switch (what) {
      case "info":
        return help(showInfo(info));
      case "license":
        return print(info.license || "No license was specified for this model.");
      case "modelfile":
        return print(info.modelfile ?? "");
      case "parameters": {
        print("Model defined parameters:");
        if (!info.parameters) print("  No additional parameters were specified for this model.");
        else for (const line of info.parameters.split("\n")) print(`  ${line}`);
        print("");
        const own = Object.entries(session.options);
        if (own.length > 0) {
          print("User defined parameters:");
          for (const [name, value] of own) print(`  ${name.padEnd(30)} ${Array.isArray(value) ? `[${value.join(" ")}]` : value}`);
          print("");
        }
        return;
      }
      case "system": {
        const system = session.system || info.system;
        return print(system ? `${system}\n` : "No system message was specified for this model.");
      }
      case "template":
        return print(info.template || "No prompt template was specified for this model.");
      default:
        return print(`Unknown command '/show ${what}'. Type /? for help`);
    }
  };

  const send = async (content: string) => {
    session.messages.push({ role: "user", content });
    generating = new AbortController();
    try {
      const view = { out: io.stdout, styled: Boolean(io.stdout.isTTY), hideThinking: session.hideThinking, waitingOn: io.stderr.isTTY ? io.stderr : undefined };
      const answer = await streamChat(client, session, view, generating.signal);
      // A cancelled answer takes its question with it, so the history stays a conversation.
      if (answer) session.messages.push(answer);
      else session.messages.pop();
    } catch (err) {
      session.messages.pop();
      // Ollama's chat goes on after a think setting the model refuses.
      if (err instanceof ClientError && /does not support thinking|invalid think value/.test(err.message)) print(`error: ${err.message}`);
      else throw err;
    } finally {
      generating = undefined;
    }
  };

  try {
    for (;;) {
      prompt(multiline === "none" ? ">>> " : "... ");
      const line = await lines.next();
      if (line === undefined) {
        if (interruptedIdle) return 130;
        io.stdout.write("\n");
        return 0;
      }

      if (multiline !== "none") {
        // inside """: every line belongs to the message until one ends with """
        const closes = line.endsWith('"""');
        text += closes ? line.slice(0, -3) : `${line}\n`;
        if (!closes) continue;
        if (multiline === "system") {
          setSystem(text);
          text = "";
        }
        multiline = "none";
      } else if (line.startsWith('"""')) {
        const rest = line.slice(3);
        if (rest.endsWith('"""')) text += rest.slice(0, -3);
        else {
          text += `${rest}\n`;
          multiline = "prompt";
        }
      } else if (line.startsWith("/bye") || line.startsWith("/exit")) {
        return 0;
      } else if (line.startsWith("/clear")) {
        session.messages = session.system ? [{ role: "system", content: session.system }] : [];
        print("Cleared session context");
      } else if (line.startsWith("/set")) {
        set(line.trim().split(/\s+/), line);
      } else if (line.startsWith("/show")) {
        await show(line.trim().split(/\s+/)[1]);
      } else if (line.startsWith("/help") || line.startsWith("/?")) {
        const topic = line.trim().split(/\s+/)[1];
        if (topic === undefined) help(USAGE);
        else if (topic === "set" || topic === "/set") help(USAGE_SET);
        else if (topic === "show" || topic === "/show") help(USAGE_SHOW);
        else if (topic === "shortcut" || topic === "shortcuts") help(USAGE_SHORTCUTS);
      } else if (line.startsWith("/")) {
        print(`Unknown command '${line.trim().split(/\s+/)[0]}'. Type /? for help`);
      } else {
        text += line;
      }

      if (text.length > 0 && multiline === "none") {
        const content = text;
        text = "";
        await send(content);
      }
    }
  } finally {
    process.off("SIGINT", interrupt);
    rl.close();
  }
}
