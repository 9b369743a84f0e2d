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
   * thing it protects by then anyway (its `exp`). `holder`, a secret the
   * spending request made up (MARKER_HOLDER_PATTERN), is the only key that
   * can give the marker back (`release`); without one it never can be.
   */
  consume(value: string, expiresAt: number, holder?: string): Promise<boolean>;
  /**
   * Forgets `value` if it is still marked by the call that passed `holder`,
   * so the thing it protects may be used once more; returns whether it did.
   * Only for a request that spent the value and then issued nothing for a
   * reason that was not its caller's (workers/token/src/replay/request-spends.ts):
   * a marker taken again by anyone since is not this holder's and stays.
   */
  release(value: string, holder: string): Promise<boolean>;
}

/** A holder: what crypto.randomUUID() makes (122 random bits), so nobody can guess another request's. */
export const MARKER_HOLDER_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ReplayGuardNamespace = DurableObjectNamespace<ReplayGuardRpc & Rpc.DurableObjectBranded>;

/**
 * The object a marker lives in, one per scope (REPLAY_SCOPE).
 */
export function replayGuardName(scope: string): string {
  return `replay:${scope}`;
}

/** What a marker is single-use within: each scope is one ReplayGuard object. */
export const REPLAY_SCOPE = {
  /** RFC 7523 §3 item 7: a client assertion's `jti`, once per client. */
  clientAssertion: (clientId: string) => `client-assertion:${clientId}`,
  /** RFC 9449 §11.1: a DPoP proof's `jti`, once per key (its RFC 7638 thumbprint). */
  dpop: (jkt: string) => `dpop:${jkt}`,
  /** The ID-JAG draft: an ID-JAG's `jti`, once per issuer, globally. */
  idJag: (issuer: string) => `id-jag:${issuer}`,
} as const;
