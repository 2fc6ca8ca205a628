const chatIds = new WeakMap<Request, string>();

/** The chat a request belongs to by the client's own reckoning (the seed's `chat_id`), for its log line. */
export function noteChatId(request: Request, chatId: string): void {
  chatIds.set(request, chatId);
}

export function chatIdOf(request: Request): string | undefined {
  return chatIds.get(request);
}
