import { ownerOf, type Principal } from "../auth/principal.ts";

/**
 * Who is looking at stored files and vector stores: an owner sees its own; `all` (the admin
 * scope) sees everyone's, to look after a shared server. Anyone else's are answered as missing.
 */
export interface Viewer {
  owner: string;
  all: boolean;
}

export function viewerOf(principal: Principal): Viewer {
  return { owner: ownerOf(principal), all: principal.scopes.has("admin") };
}

/** The SQL condition and its parameters that keep a query to what the viewer sees, on a table's `owner` column. */
export function visibleTo(viewer: Viewer, column = "owner"): { where: string; params: [string, number] } {
  return { where: `(${column} = ? OR ?)`, params: [viewer.owner, viewer.all ? 1 : 0] };
}

/** The server's own background work (ingestion), which reads every owner's objects. */
export const SERVER: Viewer = Object.freeze({ owner: "", all: true });
