/**
 * The per-client mint rate limit (org_token_policy.mints_per_minute_per_client):
 * counted in the `MintLimiter` Durable Object (workers/org-state), one object
 * per client, so the count is strongly consistent across every isolate and
 * location, and the limit is whatever the client's org set (a rate-limiting
 * binding has one fixed limit per binding).
 */
export interface MintLimitVerdict {
  allowed: boolean;
  /** Seconds until a mint would be allowed again (RFC 9110 §10.2.3 `Retry-After`); 0 when allowed. */
  retryAfterSeconds: number;
}

export interface MintLimiterRpc {
  /**
   * Counts one mint against `limit` per `windowSeconds` (a sliding window)
   * and says whether it is allowed. A refused mint is not counted.
   */
  take(limit: number, windowSeconds: number): Promise<MintLimitVerdict>;
}

export type MintLimiterNamespace = DurableObjectNamespace<MintLimiterRpc & Rpc.DurableObjectBranded>;

/** The object that counts one client's mints. */
export function mintLimiterName(clientId: string): string {
  return `mints:${clientId}`;
}
