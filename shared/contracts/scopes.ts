/** OAuth scopes (RFC 6749 §3.3) Mono-Auth understands, spelled once. */
export const SCOPE = {
  /** Read the demo service's documents through the gateway. */
  documentsRead: "documents:read",
  /** The admin API (ENDPOINT.admin); granted only to operator clients. */
  admin: "admin",
  /**
   * Manage the org's Shared Signals streams and poll their events
   * (workers/token/src/ssf/): granted to an org's clients, for the org only.
   */
  ssfManage: "ssf:manage",
  /** Subscribe to the org's live revocation stream (WebSocket or SSE), for the org only. */
  revocationsRead: "revocations:read",
} as const;

export type Scope = (typeof SCOPE)[keyof typeof SCOPE];

/**
 * Scopes a person's session or an org's client may be granted. `admin` is
 * not among them: only platform operator clients carry it.
 */
export const ALL_SCOPES: ReadonlySet<string> = new Set([SCOPE.documentsRead, SCOPE.ssfManage, SCOPE.revocationsRead]);
