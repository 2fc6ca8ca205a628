import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { JwtVerifier, TokenRefused } from "../../src/auth/jwt.ts";

const ISSUER = "https://sso.home.arpa";
const AUDIENCE = "hearth";
let privateKey: CryptoKey;
let publicJwk: Record<string, unknown>;
let jwks: ReturnType<typeof Bun.serve>;
let verifier: JwtVerifier;

/** A JWKS endpoint as an SSO (Authelia, Keycloak…) serves it. */
beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwks = Bun.serve({ port: 0, fetch: () => Response.json({ keys: [publicJwk] }) });
  verifier = new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, projectClaim: "project", key: { jwksUrl: `http://127.0.0.1:${jwks.port}/jwks.json` } });
});

afterAll(() => jwks?.stop(true));

function token(claims: Record<string, unknown> = {}, options: { expiresIn?: string | number; audience?: string; issuer?: string } = {}) {
  const jwt = new SignJWT({ project: "home", ...claims }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setSubject("alice").setIssuedAt();
  jwt.setIssuer(options.issuer ?? ISSUER).setAudience(options.audience ?? AUDIENCE);
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(privateKey);
}

function base64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

async function refusal(jwt: string): Promise<string> {
  try {
    await verifier.verify(jwt);
  } catch (err) {
    expect(err).toBeInstanceOf(TokenRefused);
    return (err as Error).message;
  }
  throw new Error("the token was accepted");
}

describe("JWT from a JWKS", () => {
  test("a valid token is its subject's, in the project its claim names, with scopes from `scope`", async () => {
    const principal = await verifier.verify(await token({ scope: "openid hearth:models" }, { expiresIn: "5m" }));
    expect(principal).toMatchObject({ kind: "jwt", id: "jwt:alice", user: "alice", project: "home" });
    expect([...principal.scopes]).toEqual(["models"]);
    const plain = await verifier.verify(await token({}, { expiresIn: "5m" }));
    expect([...plain.scopes]).toEqual(["inference"]);
  });

  test("expired, wrong audience, wrong issuer and exp-less tokens are refused", async () => {
    expect(await refusal(await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 }))).toContain("expired");
    expect(await refusal(await token({}, { expiresIn: "5m", audience: "other" }))).toContain('"aud"');
    expect(await refusal(await token({}, { expiresIn: "5m", issuer: "https://evil.example" }))).toContain('"iss"');
    expect(await refusal(await token({}))).toContain('"exp"');
  });

  test("alg none and an HS256 token keyed with the public key (algorithm confusion) are refused", async () => {
    const claims = { sub: "alice", iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 };
    const none = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
    expect(await refusal(none)).toBeString();
    const confused = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    expect(await refusal(confused)).toContain("algorithm");
    const tampered = (await token({}, { expiresIn: "5m" })).replace(/\.([^.]+)\./, (_, payload) => `.${base64url({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "mallory" })}.`);
    expect(await refusal(tampered)).toContain("signature");
  });
});

describe("JWT with an HS256 secret", () => {
  const secret = new TextEncoder().encode("a-secret-of-at-least-thirty-two-bytes!!");
  const hs = new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, projectClaim: "team", key: { secret } });

  test("tokens signed with the secret pass; the project comes from the configured claim", async () => {
    const jwt = await new SignJWT({ team: "lab" }).setProtectedHeader({ alg: "HS256" }).setSubject("bob").setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("1m").sign(secret);
    expect(await hs.verify(jwt)).toMatchObject({ user: "bob", project: "lab" });
  });

  test("an RS256 token is refused where only HS256 is configured", async () => {
    const jwt = await token({}, { expiresIn: "5m" });
    await expect(hs.verify(jwt)).rejects.toBeInstanceOf(TokenRefused);
  });
});
