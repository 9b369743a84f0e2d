/**
 * Single-use markers (client-assertion, DPoP-proof and ID-JAG `jti`s): a
 * value is accepted once per scope, under any concurrency. The store is the
 * `ReplayGuard` Durable Object (workers/org-state), one object per scope, so
 * the check is strongly consistent; never KV.
 */
export interface ReplayGuardRpc {
  /**
   * Marks `value` used until `expiresAt` (seconds since the epoch) and
   * returns true, or returns false if it was already used. After
   * `expiresAt` the marker may be forgotten: the caller must refuse the
   * thing it protects by then anyway (its `exp`).
   */
  consume(value: string, expiresAt: number): Promise<boolean>;
}

export type ReplayGuardNamespace = DurableObjectNamespace<ReplayGuardRpc & Rpc.DurableObjectBranded>;

/**
 * The object a marker lives in. Scopes: `client-assertion:<client_id>`
 * (RFC 7523 §3 "jti"), `dpop:<jkt>` (RFC 9449 §11.1), `id-jag:<issuer>`
 * (the ID-JAG draft: single use per issuer, globally).
 */
export function replayGuardName(scope: string): string {
  return `replay:${scope}`;
}
