import { streamChat, type Message } from "./stream.ts";

/** Words whose tokens no other run or stream shares: every measurement starts from a cold prompt. */
export function uniqueText(words: number, tag: string): string {
  return `${tag} ${crypto.randomUUID()}: ` + Array.from({ length: words }, (_, i) => `word${i % 97}`).join(" ");
}

export interface SingleStream {
  promptTokens: number;
  completionTokens: number;
  ttftMs: number;
  /** prompt tokens over the time to the first token */
  prefillTps: number;
  /** tokens after the first over the time from the first to the last */
  decodeTps: number;
}

export function singleStreamRates(promptTokens: number, completionTokens: number, startMs: number, firstMs: number, lastMs: number): SingleStream {
  const ttftMs = firstMs - startMs;
  return { promptTokens, completionTokens, ttftMs, prefillTps: promptTokens / (ttftMs / 1000), decodeTps: (completionTokens - 1) / ((lastMs - firstMs) / 1000) };
}

/** One long prompt, then `tokens` generated: prefill and decode speed of a lone request. */
export async function singleStream(url: string, model: string, promptWords: number, tokens: number, tag: string): Promise<SingleStream> {
  const answer = await streamChat(url, model, [{ role: "user", content: uniqueText(promptWords, tag) }], tokens);
  return singleStreamRates(answer.promptTokens, answer.completionTokens, answer.startMs, answer.firstMs, answer.lastMs);
}

/** About how many tokens one of uniqueText's words is ("word37" is " word", "3", "7"), measured on the bench preset. */
const TOKENS_PER_WORD = 2.9;

/** Words for a uniqueText of about `tokens` tokens, template included. */
export function wordsForTokens(tokens: number): number {
  return Math.max(1, Math.round((tokens - 40) / TOKENS_PER_WORD));
}

/** `streams` requests at once, short prompts of their own: generated tokens per second of wall time, all streams together. */
export async function aggregate(url: string, model: string, streams: number, tokens: number, tag: string): Promise<{ tps: number; completionTokens: number; wallMs: number }> {
  const answers = await Promise.all(Array.from({ length: streams }, (_, i) => streamChat(url, model, [{ role: "user", content: uniqueText(12, `${tag}-${i}`) }], tokens)));
  const wallMs = Math.max(...answers.map((a) => a.lastMs)) - Math.min(...answers.map((a) => a.startMs));
  const completionTokens = answers.reduce((sum, a) => sum + a.completionTokens, 0);
  return { tps: completionTokens / (wallMs / 1000), completionTokens, wallMs };
}

export interface SecondTurn {
  firstTurnPromptTokens: number;
  secondTurnPromptTokens: number;
  firstTtftMs: number;
  secondTtftMs: number;
  /** second turn's TTFT over the first's */
  ratio: number;
}

/**
 * The answer sent back as the assistant's turn. A real model's answer tokenizes back to the tokens
 * it was generated as, which the server still holds, so what a real second turn evaluates anew is
 * the template around the turns and the new question. The benchmark model's random weights answer
 * with placeholder tokens ("[PAD83927]") whose text tokenizes ten times longer than they were
 * generated, so a short reply stands in for the answer, leaving about the same to evaluate.
 */
const ANSWER = "Sure.";

/**
 * A conversation whose first turn is about `promptWords` words long (a system prompt and a
 * question), then a second question after the answer: how much of the first turn's work the
 * server reuses.
 */
export async function secondTurn(url: string, model: string, promptWords: number, tag: string): Promise<SecondTurn> {
  const messages: Message[] = [
    { role: "system", content: uniqueText(Math.round(promptWords * 0.8), `${tag} system`) },
    { role: "user", content: uniqueText(Math.round(promptWords * 0.2), `${tag} question`) },
  ];
  const first = await streamChat(url, model, messages, 16);
  messages.push({ role: "assistant", content: ANSWER }, { role: "user", content: "Thanks. And the next step?" });
  const second = await streamChat(url, model, messages, 4);
  const firstTtftMs = first.firstMs - first.startMs;
  const secondTtftMs = second.firstMs - second.startMs;
  return { firstTurnPromptTokens: first.promptTokens, secondTurnPromptTokens: second.promptTokens, firstTtftMs, secondTtftMs, ratio: secondTtftMs / firstTtftMs };
}
