import { ClientError } from "./api.ts";

/**
 * Ollama's Modelfile syntax (parser/parser.go): `COMMAND value` per instruction, case-insensitive
 * commands, `#` comments, values quoted with `"` or `"""` to span lines or keep edge spaces.
 * Ported state by state, so a Modelfile reads here as it reads in `ollama create`.
 */

export type CommandName = "model" | "license" | "template" | "system" | "adapter" | "draft" | "renderer" | "parser" | "requires" | "message";

export type ModelfileCommand =
  | { name: Exclude<CommandName, "message">; args: string }
  | { name: "message"; role: MessageRole; args: string }
  | { name: "parameter"; parameter: string; args: string };

export type MessageRole = "system" | "user" | "assistant";

export class ModelfileError extends ClientError {}

const COMMANDS = new Set(["from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", "requires"]);
const ROLES = new Set(["system", "user", "assistant"]);

const INVALID_COMMAND = 'command must be one of "from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", or "requires"';
const INVALID_ROLE = 'message role must be one of "system", "user", or "assistant"';

/** What is being read: nothing yet, a command, its value, a parameter name, a message role, a comment. */
type State = "nil" | "name" | "value" | "parameter" | "message" | "comment";

const isAlpha = (c: string) => /^[a-zA-Z]$/.test(c);
const isNumber = (c: string) => c >= "0" && c <= "9";
const isSpace = (c: string) => c === " " || c === "\t";
const isNewline = (c: string) => c === "\r" || c === "\n";
/** Go's strconv.IsPrint, near enough: control characters are dropped, everything else kept. */
const isPrint = (c: string) => !/^[\p{Cc}\p{Cs}]$/u.test(c) || c === " ";

/** A value without its quotes, or undefined while a quote is still open. */
function unquote(s: string): string | undefined {
  if (s.startsWith('"""')) return s.length >= 6 && s.endsWith('"""') ? s.slice(3, -3) : undefined;
  if (s.startsWith('"')) return s.length >= 2 && s.endsWith('"') ? s.slice(1, -1) : undefined;
  return s;
}

class UnexpectedEof extends ModelfileError {
  constructor(buffer?: string) {
    super(buffer === undefined ? "unexpected EOF" : `unexpected EOF: ${buffer}`);
  }
}

/** The next state for character c, and the character to keep (undefined: none). */
function next(c: string, state: State): [State, string | undefined] {
  switch (state) {
    case "nil":
      if (c === "#") return ["comment", undefined];
      if (isSpace(c) || isNewline(c)) return ["nil", undefined];
      return ["name", c];
    case "name":
      if (isAlpha(c)) return ["name", c];
      if (isSpace(c)) return ["value", undefined];
      throw new Error(INVALID_COMMAND);
    case "value":
      if (isNewline(c) || isSpace(c)) return ["nil", c];
      return ["value", c];
    case "parameter":
      if (isAlpha(c) || isNumber(c) || c === "_") return ["parameter", c];
      if (isSpace(c)) return ["value", undefined];
      throw new UnexpectedEof();
    case "message":
      if (isAlpha(c)) return ["message", c];
      if (isSpace(c)) return ["value", undefined];
      throw new UnexpectedEof();
    case "comment":
      return [isNewline(c) ? "nil" : "comment", undefined];
  }
}

export function parseModelfile(text: string): ModelfileCommand[] {
  const commands: ModelfileCommand[] = [];
  let state: State = "nil";
  let buffer = "";
  let line = 1;
  let command: { name?: string; parameter?: string; role?: string } = {};
  const failure = (message: string) => new ModelfileError(`(line ${line}): ${message}`);

  const finish = (value: string) => {
    const { name, parameter, role } = command;
    if (name === "parameter") commands.push({ name, parameter: parameter!, args: value });
    else if (name === "message") commands.push({ name, role: role as MessageRole, args: value });
    else commands.push({ name: name as Exclude<CommandName, "message">, args: value });
    command = {};
  };

  for (const c of text.replace(/^\uFEFF/, "")) {
    if (isNewline(c)) line++;
    let nextState: State;
    let kept: string | undefined;
    try {
      [nextState, kept] = next(c, state);
    } catch (err) {
      if (err instanceof UnexpectedEof) throw new UnexpectedEof(buffer);
      throw failure((err as Error).message);
    }

    if (nextState !== state) {
      switch (state) {
        case "name": {
          const word = buffer.toLowerCase();
          if (!COMMANDS.has(word)) throw failure(INVALID_COMMAND);
          // PARAMETER and MESSAGE read one more word (the name, the role) before their value.
          if (word === "parameter") nextState = "parameter";
          else if (word === "message") nextState = "message";
          command.name = word === "from" ? "model" : word;
          break;
        }
        case "parameter":
          command.parameter = buffer;
          break;
        case "message":
          if (!ROLES.has(buffer)) throw failure(INVALID_ROLE);
          command.role = buffer;
          break;
        case "value": {
          // A space, or a line break inside an open quote, belongs to the value.
          const value = unquote(buffer.trim());
          if (value === undefined || isSpace(c)) {
            buffer += c;
            continue;
          }
          finish(value);
          break;
        }
      }
      buffer = "";
      state = nextState;
    }
    if (kept !== undefined && isPrint(kept)) buffer += kept;
  }

  if (state === "value") {
    const value = unquote(buffer.trim());
    if (value === undefined) throw new UnexpectedEof();
    finish(value);
  } else if (state !== "nil" && state !== "comment") throw new UnexpectedEof();

  if (!commands.some((c) => c.name === "model")) throw new ModelfileError("no FROM line");
  return commands;
}
