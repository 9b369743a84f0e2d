/**
 * Single-use markers (client-assertion, DPoP-proof and ID-JAG `jti`s): a
 * value is accepted once per scope, under any concurrency. The store is the
 * `ReplayGuard` Durable Object (workers/org-state), one object per scope, so
 * the check is strongly consistent; never KV. A scope too busy for one
 * object is split into shards, each value always in the same one
 * (idJagReplayScope), so single use still holds.
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
  /**
   * Waits until no other request holds `value`'s turn, then gives it to
   * `holder` and returns true; returns false at once, without waiting, when
   * MAX_TURN_WAITERS requests already hold or wait for it. The turn ends at
   * `endTurn` or after `leaseMs` (at most MAX_TURN_LEASE_MS), whichever is
   * first, so a holder that never comes back delays the next one, never
   * blocks it. Turns live in the object's memory only: they order requests
   * that overlap; they record nothing that outlives them.
   */
  takeTurn(value: string, holder: string, leaseMs: number): Promise<boolean>;
  /** Ends `holder`'s turn on `value`, if it still has it; the next waiter's starts. */
  endTurn(value: string, holder: string): Promise<void>;
}

/** Most requests that may hold or wait for one value's turn; the rest are refused at once. */
export const MAX_TURN_WAITERS = 16;

/** Longest a turn lasts, whatever a caller asks: a turn outliving its request would only stall the next. */
export const MAX_TURN_LEASE_MS = 15_000;

/** A holder: what crypto.randomUUID() makes (122 random bits), so nobody can guess another request's. */
export const MARKER_HOLDER_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ReplayGuardNamespace = DurableObjectNamespace<ReplayGuardRpc & Rpc.DurableObjectBranded>;

/**
 * The object a marker lives in, one per scope (REPLAY_SCOPE).
 */
export function replayGuardName(scope: string): string {
  return `replay:${scope}`;
}

/** How many objects share the browser provider's grant turns (REPLAY_SCOPE.browserGrant). */
export const BROWSER_GRANT_SHARDS = 64;

/**
 * How many objects share one issuer's ID-JAG markers (REPLAY_SCOPE.idJag).
 * A `jti` is single use globally per issuer (the ID-JAG draft §4.4.1), so
 * every redemption of an IdP's grants, in every org that trusts it, spends
 * one; in a single object they all waited on its one thread. A power of two,
 * so the jti's hash picks each shard equally often.
 */
export const ID_JAG_REPLAY_SHARDS = 32;

/** What a marker is single-use within: each scope is one ReplayGuard object. */
export const REPLAY_SCOPE = {
  /** RFC 7523 §3 item 7: a client assertion's `jti`, once per client. */
  clientAssertion: (clientId: string) => `client-assertion:${clientId}`,
  /** RFC 9449 §11.1: a DPoP proof's `jti`, once per key (its RFC 7638 thumbprint). */
  dpop: (jkt: string) => `dpop:${jkt}`,
  /**
   * The ID-JAG draft: an ID-JAG's `jti`, once per issuer, globally: one of
   * ID_JAG_REPLAY_SHARDS objects per issuer, chosen by the jti
   * (idJagReplayScope). The shard comes first: an issuer is a URL, colons
   * and all, and a name must not read as another issuer's.
   */
  idJag: (shard: number, issuer: string) => `id-jag:${shard}:${issuer}`,
  /**
   * The browser provider's single-use grants (an authorization code, a
   * refresh token), taken in turns: one of BROWSER_GRANT_SHARDS objects,
   * chosen by the SHA-256 of the grant, so storage stays bounded however
   * many grants there are.
   */
  browserGrant: (shard: number) => `browser-grant:${shard}`,
} as const;

/**
 * The scope an ID-JAG's `jti` is spent in: the issuer's shard the first
 * four bytes of the jti's SHA-256 pick (big-endian, modulo
 * ID_JAG_REPLAY_SHARDS). One (issuer, jti) always names one object, so the
 * object's check-and-set still lets exactly one redemption pass; an issuer
 * that bunches its jtis into one shard only slows its own redemptions.
 */
export async function idJagReplayScope(issuer: string, jti: string): Promise<string> {
  const digest = new DataView(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jti)));
  return REPLAY_SCOPE.idJag(digest.getUint32(0) % ID_JAG_REPLAY_SHARDS, issuer);
}
