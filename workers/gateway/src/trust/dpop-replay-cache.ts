/**
 * The DPoP proofs (RFC 9449 §11.1) this isolate has accepted, by key
 * thumbprint and `jti`, each until its proof is too old to pass anyway.
 *
 * The trade-off, written down: the gateway's hot path touches no Durable
 * Object per request (DESIGN, "Scale"), so replay is checked here, in
 * isolate memory, and not across isolates or locations. A captured proof
 * could be replayed once in each other isolate until it ages out of the
 * gateway's tight `iat` window (trust/dpop-binding.ts). It is worth little
 * there: it is bound to one access token (`ath`), one method and one URL
 * (`htm`, `htu`), so a replay needs the whole captured request and can only
 * repeat that request within seconds; the token endpoint, where a proof
 * buys a new token, checks its `jti` in the strongly consistent ReplayGuard
 * instead.
 *
 * Bounded: at most `maxEntries` proofs; beyond that the oldest (the nearest
 * to ageing out) is forgotten first, which reopens only that proof, only in
 * this isolate, and only for what is left of its window.
 */
/**
 * Proofs one isolate remembers: about 1.5 MB at most, and more than a whole
 * isolate can see within GATEWAY_PROOF_MAX_AGE_SECONDS at the gateway's
 * measured throughput (README, "Measured"), so eviction only happens under
 * a flood.
 */
export const DEFAULT_DPOP_REPLAY_ENTRIES = 10_000;

export class DpopReplayCache {
  /** `${jkt} ${jti}` → until when (seconds) it blocks, in insertion order (≈ expiry order). */
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Marks the proof used until `expiresAt`; false if it already was (a replay). */
  consume(jkt: string, jti: string, expiresAt: number, now: number): boolean {
    this.forgetExpired(now);
    const key = `${jkt} ${jti}`;
    if ((this.seen.get(key) ?? 0) > now) return false;
    this.seen.delete(key);
    this.seen.set(key, expiresAt);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
    return true;
  }

  private forgetExpired(now: number): void {
    for (const [key, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(key);
    }
  }
}
