import { type AccessTokenClaims, CLOCK_TOLERANCE_SECONDS } from "../../../../shared/contracts/tokens.ts";

/**
 * Access tokens this isolate has verified, so a client presenting the same
 * token again (which is what clients do, for the token's lifetime) costs a
 * map lookup instead of an ES256 verification, two base64url decodes and
 * two JSON parses — the largest part of the gateway's own CPU in a workerd
 * profile (bench/README.md, "Profiling").
 *
 * Nothing is skipped that could have changed since: the signature over the
 * exact same bytes under the exact same key object cannot. Every hit still
 * checks the time claims against now, with the one tolerance
 * (CLOCK_TOLERANCE_SECONDS), and that the JWKS cache still holds, for the
 * token's `kid`, the very key it was verified with: after a rotation, a
 * withdrawal or any reload of the key set (trust/jwks-cache.ts imports new
 * key objects), the token is verified again from scratch. Revocation and the
 * DPoP proof are checked per request after this, as for any token.
 *
 * Only tokens that verified are held, so a flood of made-up tokens adds
 * nothing; at most `maxEntries`, least recently used first out.
 */
export const DEFAULT_VERIFIED_TOKEN_ENTRIES = 5_000;

interface Entry {
  claims: AccessTokenClaims;
  kid: string;
  key: CryptoKey;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The claims of a token verified before, if it is still within its time
   * claims and `currentKey` (the JWKS cache's key for its kid) is the key
   * that verified it; otherwise undefined, and the caller verifies in full.
   */
  async get(
    token: string,
    audience: string,
    currentKey: (kid: string) => Promise<CryptoKey | undefined>,
    now: number = Math.floor(Date.now() / 1000),
  ): Promise<AccessTokenClaims | undefined> {
    // Built once: a token is most of a kilobyte, and each lookup of a fresh string hashes all of it.
    const key = this.keyOf(token, audience);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const { claims } = entry;
    const nbf = (claims as { nbf?: unknown }).nbf;
    if (
      claims.exp <= now - CLOCK_TOLERANCE_SECONDS ||
      claims.iat > now + CLOCK_TOLERANCE_SECONDS ||
      (typeof nbf === "number" && nbf > now + CLOCK_TOLERANCE_SECONDS) ||
      (await currentKey(entry.kid)) !== entry.key
    ) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return claims;
  }

  /** Holds a token that verified for `audience`, under the key it verified with. */
  remember(token: string, audience: string, claims: AccessTokenClaims, kid: string, key: CryptoKey): void {
    const cacheKey = this.keyOf(token, audience);
    this.entries.delete(cacheKey);
    this.entries.set(cacheKey, { claims, kid, key });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  /** A token verified for one route's audience says nothing about another's. */
  private keyOf(token: string, audience: string): string {
    return `${audience} ${token}`;
  }
}
