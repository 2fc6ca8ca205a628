/**
 * A reasoning model paired with an instruct model (`--instruct-model THINKING=INSTRUCT`): a request
 * that turns thinking off for the first is answered by the second, as vendors ship the two halves
 * of a hybrid model (Qwen3-Thinking and Qwen3-Instruct) as separate weights.
 */
export interface InstructPair {
  /** the reasoning model's name, as requests name it */
  thinking: string;
  /** the name of the model that answers when thinking is off; responses carry it */
  instruct: string;
}

/** `THINKING=INSTRUCT` → the pair, or an error message saying what is wrong with it. */
export function parseInstructPair(raw: string): InstructPair | string {
  const at = raw.indexOf("=");
  const thinking = raw.slice(0, at).trim();
  const instruct = raw.slice(at + 1).trim();
  if (at < 0 || !thinking || !instruct) return `must be THINKING=INSTRUCT (two model names), got "${raw}"`;
  if (thinking.toLowerCase() === instruct.toLowerCase()) return `pairs a model with itself: "${raw}"`;
  return { thinking, instruct };
}
