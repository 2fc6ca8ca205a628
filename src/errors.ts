/**
 * The failures a request can meet, shared by every layer that raises them (models, registry,
 * engine) and read by the API's error classifier, which turns each into a status code. They sit
 * below all of those layers, so none borrows another's errors.
 */

/** The request asks for something that cannot be done; `param` names the field at fault. */
export class InvalidRequestError extends Error {
  constructor(message: string, readonly param?: string, readonly code?: string) {
    super(message);
  }
}

/** No model by that name in the models folder or the stores. */
export class ModelNotFoundError extends Error {
  constructor(readonly model: string) {
    super(`model "${model}" not found`);
  }
}

/** The client went away; nobody is left to answer, so adapters drop the request without logging an error. */
export class CancelledError extends Error {
  constructor() {
    super("the client cancelled the request");
  }
}

/** Every sequence is busy and the wait queue is full: the client should retry later. */
export class ServerBusyError extends Error {
  constructor(readonly retryAfterSeconds = 1) {
    super("server busy, please try again. maximum pending requests exceeded");
  }
}

/** No route matches the request's method and path. */
export class RouteNotFoundError extends Error {
  constructor() {
    super("no such route");
  }
}

/** The model cannot be loaded within the memory budget, or the memory actually free, even with every idle model unloaded. */
export class InsufficientMemoryError extends Error {}

/** No credential, or one that is not valid (unknown, revoked, expired key; a token that fails verification). */
export class AuthenticationError extends Error {
  /** `code`: invalid_api_key for a presented key that is wrong, missing_credentials when none was sent */
  constructor(message: string, readonly code: "invalid_api_key" | "missing_credentials" | "invalid_token") {
    super(message);
  }
}

/** A valid credential that may not do this (a scope it lacks, a user it may not act for). */
export class PermissionDeniedError extends Error {}

/** A credential over its requests-per-minute or requests-at-once limit. */
export class RateLimitedError extends Error {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

/** A stored object (conversation, response, chat completion, item) the caller has none of by that id. */
export class ObjectNotFoundError extends Error {
  constructor(message: string, readonly param?: string) {
    super(message);
  }
}
