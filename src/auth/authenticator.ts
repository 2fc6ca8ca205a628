import { AuthenticationError, PermissionDeniedError } from "../errors.ts";
import { ApiKeys, keyHint } from "./api-keys.ts";
import { JwtVerifier, TokenRefused } from "./jwt.ts";
import { ANONYMOUS, type Principal } from "./principal.ts";
import { StaticKeys } from "./static-keys.ts";

/** The seed's identity headers: who a service key acts for. */
const USER_HEADER = "x-user-id";
const PROJECT_HEADER = "x-project-id";
/** Three base64url parts: a compact JWS. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const MISSING =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the x-api-key header.";

/**
 * Decides who a request is from. Authentication is on while any credential can be accepted: a
 * static key, a JWT issuer, or a key created with `hearth keys` (looked up per request, so a key
 * created beside a running server turns it on at once).
 */
export class Authenticator {
  constructor(
    private readonly keys: ApiKeys,
    private readonly staticKeys: StaticKeys,
    private readonly jwt?: JwtVerifier,
  ) {}

  get enabled(): boolean {
    return this.staticKeys.size > 0 || this.jwt !== undefined || this.keys.anyActive();
  }

  /** The request's principal; throws AuthenticationError (401) or PermissionDeniedError (403). */
  async authenticate(request: Request): Promise<Principal> {
    const identity = { user: header(request, USER_HEADER), project: header(request, PROJECT_HEADER) };
    if (!this.enabled) return actingFor(ANONYMOUS, identity);
    const credential = credentialOf(request);
    if (credential === undefined) throw new AuthenticationError(MISSING, "missing_credentials");
    return actingFor(await this.verify(credential), identity);
  }

  private async verify(credential: string): Promise<Principal> {
    if (ApiKeys.isKeyShaped(credential)) {
      const verdict = this.keys.verify(credential);
      if (typeof verdict !== "string") return verdict;
      const hint = keyHint(credential);
      if (verdict === "revoked") throw new AuthenticationError(`The API key ${hint} has been revoked.`, "invalid_api_key");
      if (verdict === "expired") throw new AuthenticationError(`The API key ${hint} has expired.`, "invalid_api_key");
    } else {
      const principal = this.staticKeys.verify(credential);
      if (principal) return principal;
      if (this.jwt && JWT_SHAPE.test(credential)) {
        try {
          return await this.jwt.verify(credential);
        } catch (err) {
          if (err instanceof TokenRefused) throw new AuthenticationError(err.message, "invalid_token");
          throw err;
        }
      }
    }
    throw new AuthenticationError(`Incorrect API key provided: ${keyHint(credential)}.`, "invalid_api_key");
  }
}

/** `Authorization: Bearer …` (OpenAI and Ollama clients, the seed's JWT) or `x-api-key` (Anthropic clients). */
function credentialOf(request: Request): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // Any other scheme (Basic…) is a credential Hearth cannot accept, not an absent one.
    return bearer ? bearer[1]! : authorization;
  }
  return header(request, "x-api-key");
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers.get(name)?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/**
 * A service key (one bound to no user) acts for the user and project its request names; a
 * personal key or a token is its user's alone, so naming anyone else is refused rather than
 * quietly ignored.
 */
function actingFor(principal: Principal, identity: { user?: string; project?: string }): Principal {
  if (principal.user === undefined) {
    if (identity.user === undefined && identity.project === undefined) return principal;
    if (identity.user === undefined) throw new PermissionDeniedError("X-Project-Id needs X-User-Id: a project is acted for on behalf of a user.");
    return { ...principal, user: identity.user, project: identity.project };
  }
  if (identity.user !== undefined && identity.user !== principal.user) {
    throw new PermissionDeniedError(`This credential belongs to another user and cannot act for "${identity.user}".`);
  }
  if (identity.project !== undefined && identity.project !== principal.project) {
    throw new PermissionDeniedError(`This credential cannot act for project "${identity.project}".`);
  }
  return principal;
}
