/**
 * The per-client mint rate limit (org_token_policy.mints_per_minute_per_client):
 * counted in the `MintLimiter` Durable Object (workers/org-state), one object
 * per client, so the count is strongly consistent across every isolate and
 * location, and the limit is whatever the client's org set (a rate-limiting
 * binding has one fixed limit per binding).
 */
export interface MintLimitVerdict {
  allowed: boolean;
  /** Mints handed out, each counted as spent now: between 1 and `wanted` when allowed, 0 when not. */
  granted: number;
  /** Seconds until a mint would be allowed again (RFC 9110 §10.2.3 `Retry-After`); 0 when allowed. */
  retryAfterSeconds: number;
  /**
   * When the fixed window they were counted in ends (ms since the epoch): a
   * mint handed out but not yet made must not be made after it, since the
   * next window's count no longer holds it.
   */
  windowEndsAt: number;
}

export interface MintLimiterRpc {
  /**
   * Counts up to `wanted` mints (default 1) against `limit` per
   * `windowSeconds` (a sliding window) and hands out as many as fit, each
   * counted as spent whether or not its holder uses it. None fit: refused,
   * nothing counted.
   */
  take(limit: number, windowSeconds: number, wanted?: number): Promise<MintLimitVerdict>;
}

export type MintLimiterNamespace = DurableObjectNamespace<MintLimiterRpc & Rpc.DurableObjectBranded>;

/** The object that counts one client's mints. */
export function mintLimiterName(clientId: string): string {
  return `mints:${clientId}`;
}
