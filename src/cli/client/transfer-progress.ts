import type { ProgressResponse } from "./api.ts";
import type { ProgressDisplay } from "./progress.ts";

export type TransferKind = "pull" | "push" | "create";

/** The 12 hex digits Ollama shows for a digest. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").trim().slice(0, 12);
}

/**
 * Turns the status objects /api/pull, /api/push and /api/create stream into bars (those naming
 * a digest) and status lines (the others, once per change of status), labelled as Ollama's CLI
 * labels them.
 */
export function followProgress(kind: TransferKind, display: ProgressDisplay): (response: ProgressResponse) => void {
  let status: string | undefined;
  return (response) => {
    if (response.digest) {
      // A pull announces every layer at 0 before downloading any; a 0% bar for each would
      // read as though they all downloaded at once.
      if (kind === "pull" && !response.completed) return;
      const label = kind === "pull" ? `pulling ${shortDigest(response.digest)}:` : response.status || `${kind === "push" ? "pushing" : "pulling"} ${shortDigest(response.digest)}...`;
      display.bar(response.digest, label, response.total ?? 0, response.completed ?? 0);
    } else if (response.status !== status) {
      status = response.status;
      display.status(response.status);
    }
  };
}
