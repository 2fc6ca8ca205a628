import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { SCOPES, type Principal, type Scope } from "./principal.ts";

/**
 * Asymmetric algorithms a JWKS may sign with. HS* is never on this list, so a token signed with
 * HMAC over a public key (the HS-vs-RS confusion) is refused; `none` is refused by jose itself.
 */
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
/** Clocks on a home network drift a little; more than this and `exp`/`nbf` mean nothing. */
const CLOCK_TOLERANCE_S = 30;

export interface JwtConfig {
  issuer: string;
  audience: string;
  /** the claim naming the token's project */
  projectClaim: string;
  /** a JWKS URL (an SSO's) or an HS256 secret */
  key: { jwksUrl: string } | { secret: Uint8Array };
}

/** Why a token was refused, in words a client may read (never the token). */
export class TokenRefused extends Error {}

/** Verifies bearer JWTs from one issuer for one audience, with `exp` required. */
export class JwtVerifier {
  private readonly key: JWTVerifyGetKey | Uint8Array;
  private readonly algorithms: string[];

  constructor(private readonly config: JwtConfig) {
    if ("jwksUrl" in config.key) {
      // jose caches the set and refetches it when a token names a key id it has not seen (rotation).
      this.key = createRemoteJWKSet(new URL(config.key.jwksUrl));
      this.algorithms = ASYMMETRIC;
    } else {
      this.key = config.key.secret;
      this.algorithms = ["HS256"];
    }
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as JWTVerifyGetKey, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.algorithms,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (err) {
      throw new TokenRefused(refusal(err));
    }
    const project = payload[this.config.projectClaim];
    return {
      kind: "jwt",
      id: `jwt:${payload.sub}`,
      user: payload.sub!,
      project: typeof project === "string" && project !== "" ? project : undefined,
      scopes: scopesOf(payload),
    };
  }
}

/** The claim's words that name Hearth scopes (`scope` as OAuth writes it, or Keycloak's `scp`), bare or as hearth:<scope>; inference when none do. */
function scopesOf(payload: JWTPayload): Set<Scope> {
  const raw = payload.scope ?? payload.scp;
  const words = typeof raw === "string" ? raw.split(/\s+/) : Array.isArray(raw) ? raw.filter((w): w is string => typeof w === "string") : [];
  const scopes = new Set(words.map((w) => w.replace(/^hearth:/, "")).filter((w): w is Scope => (SCOPES as readonly string[]).includes(w)));
  return scopes.size > 0 ? scopes : new Set<Scope>(["inference"]);
}

function refusal(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "The token has expired.";
  if (err instanceof errors.JWTClaimValidationFailed) return `The token's "${err.claim}" claim is not accepted here.`;
  if (err instanceof errors.JOSEAlgNotAllowed) return "The token's signing algorithm is not accepted here.";
  if (err instanceof errors.JWKSNoMatchingKey) return "The token is signed by a key the issuer does not publish.";
  // A failed fetch of the JWKS is no JOSE error: the issuer is down or unreachable.
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError)) return "The issuer's signing keys could not be fetched.";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is not valid.";
  return "The token is not a valid JWT.";
}
