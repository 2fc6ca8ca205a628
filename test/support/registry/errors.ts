/** Registry errors in the Docker v2 shape `{"errors":[{code,message,detail}]}`. */

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toResponse(method: string): Response {
    const body = JSON.stringify({ errors: [{ code: this.code, message: this.message, detail: this.detail }] });
    return new Response(method === "HEAD" ? null : body, {
      status: this.status,
      headers: { "Content-Type": "application/json; charset=utf-8", ...this.headers },
    });
  }
}

export const manifestUnknown = () => new RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown");
export const blobUnknown = (digest: string) => new RegistryError(404, "BLOB_UNKNOWN", "blob unknown to registry", { digest });
export const uploadUnknown = () => new RegistryError(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
export const digestInvalid = (message = "provided digest did not match uploaded content") =>
  new RegistryError(400, "DIGEST_INVALID", message);
