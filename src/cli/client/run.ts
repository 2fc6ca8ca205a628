import { type HearthClient, ServerError, type ShowResponse } from "./api.ts";
import { streamChat } from "./chat.ts";
import { interactive, type Session, type Terminal } from "./interactive.ts";
import { loadOrUnload } from "./models.ts";
import { TerminalProgress } from "./progress.ts";
import { fetchShow } from "./show.ts";
import { pull } from "./transfer.ts";

export interface RunOptions {
  model: string;
  prompt: string[];
  /** --think[=level]: undefined lets the model's capabilities decide */
  think?: boolean | string;
  hideThinking: boolean;
  format?: string;
  keepAlive?: string;
  insecure: boolean;
  /** --interactive: the chat loop even on piped input */
  interactive: boolean;
}

/** The model's details; a model the server does not have is pulled first, as `ollama run` does. */
async function showOrPull(client: HearthClient, options: RunOptions, io: Terminal): Promise<ShowResponse> {
  try {
    return await fetchShow(client, options.model);
  } catch (err) {
    if (!(err instanceof ServerError) || err.status !== 404) throw err;
  }
  await pull(client, options.model, options.insecure, io.stderr);
  return fetchShow(client, options.model);
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return text;
}

/**
 * `hearth run NAME [PROMPT]`: with a prompt, or text piped in, one streamed answer; on a
 * terminal (or with --interactive), a chat. Piped text comes before the prompt's words, so
 * `cat notes | hearth run m "summarize:"` asks about the notes.
 */
export async function run(client: HearthClient, options: RunOptions, io: Terminal): Promise<number> {
  const prompts = [...options.prompt];
  if (!options.interactive && !io.stdin.isTTY) {
    const piped = await readAll(io.stdin);
    if (piped) prompts.unshift(piped);
  }
  const chatting = options.interactive || (prompts.length === 0 && Boolean(io.stdin.isTTY && io.stdout.isTTY));

  const info = await showOrPull(client, options, io);
  const capabilities = info.capabilities ?? [];
  const session: Session = {
    model: options.model,
    messages: [],
    // Ollama thinks by default on models that can.
    think: options.think ?? (capabilities.includes("thinking") ? true : undefined),
    format: options.format,
    options: {},
    keepAlive: options.keepAlive,
    hideThinking: options.hideThinking,
    capabilities,
  };
  const load = { model: options.model, ...(options.keepAlive !== undefined ? { keep_alive: options.keepAlive } : {}) };

  if (chatting) {
    // Load before the first prompt, with a spinner, so that the first answer does not wait
    // for it; the think setting goes along so that a model that cannot think fails now.
    const spinner = io.stderr.isTTY ? new TerminalProgress(io.stderr).start() : undefined;
    spinner?.status("");
    try {
      await loadOrUnload(client, { ...load, ...(session.think !== undefined ? { think: session.think } : {}) });
    } finally {
      spinner?.clear();
    }
    // A model created with MESSAGEs starts from that conversation.
    for (const message of info.messages ?? []) {
      if (message.role === "user") io.stdout.write(`>>> ${message.content}\n`);
      else if (message.role === "assistant") io.stdout.write(`${message.content}\n\n`);
    }
    return interactive(client, session, io);
  }

  const prompt = prompts.join(" ");
  // Nothing to ask: load the model, as `ollama run` does.
  if (prompt === "") {
    await loadOrUnload(client, load);
    return 0;
  }

  // Ctrl-C stops the answer; what was written stays.
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on("SIGINT", stop);
  try {
    session.messages.push({ role: "user", content: prompt });
    const view = { out: io.stdout, styled: Boolean(io.stdout.isTTY), hideThinking: options.hideThinking, waitingOn: io.stderr.isTTY ? io.stderr : undefined };
    await streamChat(client, session, view, controller.signal);
  } finally {
    process.off("SIGINT", stop);
  }
  return 0;
}
