/** What a credential may do: use models, manage models, manage keys. */
export const SCOPES = ["inference", "models", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who a request acts for, once its credential is checked. */
export interface Principal {
  /**
   * anonymous: authentication is off (loopback only, or --no-auth); key: a Hearth API key or a
   * static key; jwt: a token from the configured issuer.
   */
  kind: "anonymous" | "key" | "jwt";
  /** logged for each request, never a secret: the key's id, `jwt:<sub>`, or "anonymous" */
  id: string;
  /** the user acted for: a personal key's or a token's own, or the one a service key names in X-User-Id */
  user?: string;
  project?: string;
  scopes: ReadonlySet<Scope>;
  /** the models it may see and use; undefined = all */
  models?: ReadonlySet<string>;
  /** per-key limits: requests per minute and requests at once */
  rpm?: number;
  maxParallel?: number;
}

export const ANONYMOUS: Principal = Object.freeze({ kind: "anonymous", id: "anonymous", scopes: new Set<Scope>(SCOPES) });

/**
 * Whose stored objects (conversations, responses, chat completions) a principal reads and writes:
 * a user's (within a project, when there is one), else the credential's own. Anyone else is told
 * they do not exist.
 */
export function ownerOf(principal: Principal): string {
  if (principal.user === undefined) return principal.id;
  return principal.project === undefined ? `user:${principal.user}` : `user:${principal.user}/project:${principal.project}`;
}

const principals = new WeakMap<Request, Principal>();

/** The principal a request was authenticated as; anonymous when authentication is off. */
export function principalOf(request: Request): Principal {
  return principals.get(request) ?? ANONYMOUS;
}

/** The id of the principal a request was authenticated as; undefined while it has not been (or was refused). */
export function principalIdOf(request: Request): string | undefined {
  return principals.get(request)?.id;
}

export function setPrincipal(request: Request, principal: Principal): void {
  principals.set(request, principal);
}

/** Whether a principal may see and use a model: others are answered as if they did not exist. */
export function mayUseModel(principal: Principal, model: string): boolean {
  if (principal.models === undefined) return true;
  const wanted = sameModel(model);
  for (const allowed of principal.models) if (sameModel(allowed) === wanted) return true;
  return false;
}

/** Model names as Ollama compares them: case aside, and `:latest` implied. */
function sameModel(name: string): string {
  return name.toLowerCase().replace(/:latest$/, "");
}
