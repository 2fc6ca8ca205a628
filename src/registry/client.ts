import { InvalidRequestError } from "../errors.ts";
import { isHuggingFace, type OllamaName } from "../models/ollama-name.ts";

/** A registry answered with an error, or could not be reached; `status` is what Hearth answers with. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A line of a pull's or push's progress, as Ollama's ProgressResponse. */
export interface TransferStatus {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface RegistryOptions {
  /** allow plain http (a private registry on the home network), as Ollama's `insecure` */
  insecure?: boolean;
  /** where HF_ENDPOINT, MODEL_ENDPOINT and HF_TOKEN are read */
  env?: Record<string, string | undefined>;
}

/**
 * Docker's registry HTTP API v2 as Ollama speaks it, for one repository: manifests and blobs by
 * digest, uploads, and the bearer-token challenge. Credentials (HF_TOKEN, tokens from a challenge)
 * go only to the registry's own host: a blob redirected to a CDN is fetched without them.
 */
export class RegistryClient {
  readonly base: URL;
  /** namespace/model: the repository's path under /v2/ */
  readonly repository: string;
  private token?: string;

  constructor(
    readonly name: OllamaName,
    options: RegistryOptions = {},
  ) {
    const env = options.env ?? process.env;
    const endpoint = isHuggingFace(name) ? env.HF_ENDPOINT || env.MODEL_ENDPOINT : undefined;
    if (name.scheme === "http" && !options.insecure) throw new InvalidRequestError("insecure protocol http: pass insecure: true to pull or push over plain http", "insecure");
    this.base = endpoint ? new URL(endpoint.replace(/\/+$/, "") + "/") : new URL(`${options.insecure ? "http" : name.scheme}://${name.host}/`);
    this.repository = `${name.namespace}/${name.model}`;
    this.token = isHuggingFace(name) ? env.HF_TOKEN || undefined : undefined;
  }

  url(path: string): URL {
    return new URL(`v2/${this.repository}/${path}`, this.base);
  }

  /**
   * A request to the registry host with its credentials; a 401 carrying a Bearer challenge fetches
   * a token from the challenge's realm and retries once. Redirects are returned, not followed.
   */
  async request(method: string, url: URL, init: { headers?: Record<string, string>; body?: BodyInit; signal?: AbortSignal } = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      if (this.token && url.host === this.base.host) headers.set("authorization", `Bearer ${this.token}`);
      const response = await fetchOrFail(url, { method, headers, body: init.body, signal: init.signal, redirect: "manual" });
      if (response.status !== 401 || attempt > 0) return response;
      const challenge = bearerChallenge(response.headers.get("www-authenticate"));
      await response.body?.cancel();
      if (!challenge) return response;
      this.token = await this.fetchToken(challenge, init.signal);
    }
  }

  /** Throws the registry's error (its `errors[0].message`) for a failed response; `what` prefixes it. */
  async check(response: Response, what: string): Promise<Response> {
    if (response.ok || (response.status >= 300 && response.status < 400)) return response;
    const detail = await registryMessage(response);
    if (response.status === 404) throw new RegistryError(`${what}: file does not exist`, 404);
    if (response.status === 401 || response.status === 403) throw new RegistryError(`${what}: ${response.status === 401 ? "unauthorized" : "forbidden"}: ${detail}`, response.status);
    // The registry failed, not the client: a 502 names the upstream's own status.
    throw new RegistryError(`${what}: ${response.status}: ${detail}`, response.status >= 500 ? 502 : response.status === 429 ? 429 : 400);
  }

  private async fetchToken(challenge: Challenge, signal?: AbortSignal): Promise<string> {
    const realm = new URL(challenge.realm);
    if (challenge.service) realm.searchParams.set("service", challenge.service);
    if (challenge.scope) realm.searchParams.set("scope", challenge.scope);
    const headers = new Headers();
    if (this.token && realm.host === this.base.host) headers.set("authorization", `Bearer ${this.token}`);
    const response = await fetchOrFail(realm, { headers, signal, redirect: "manual" });
    if (!response.ok) throw new RegistryError(`unauthorized: the token endpoint ${realm.origin} answered ${response.status}: ${await registryMessage(response)}`, 401);
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = body.token ?? body.access_token;
    if (typeof token !== "string" || token === "") throw new RegistryError(`unauthorized: the token endpoint ${realm.origin} gave no token`, 401);
    return token;
  }
}

/** fetch, with a network failure (refused, reset, DNS) as a 502 naming the host; an abort stays an abort. */
export async function fetchOrFail(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new RegistryError(`could not reach ${url.host}: ${(err as Error).message}`, 502);
  }
}

interface Challenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** `Bearer realm="…",service="…",scope="…"` */
function bearerChallenge(header: string | null): Challenge | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
  if (!params.realm) return undefined;
  try {
    new URL(params.realm);
  } catch {
    return undefined;
  }
  return { realm: params.realm, service: params.service, scope: params.scope };
}

async function registryMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { errors?: Array<{ message?: string; code?: string }> };
    const first = body.errors?.[0];
    if (first) return first.message || first.code || text;
  } catch {
    // not JSON: the text itself
  }
  return text.trim().slice(0, 500) || response.statusText || String(response.status);
}
