import { importJWK, type JWK } from "jose";
import { JWKS_KV_TTL_SECONDS, KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import { SingleFlight } from "../../../../shared/isolate/single-flight.ts";
import type { TokenServiceRpc } from "../../../../shared/contracts/token-service.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";

export interface JwksSources {
  KV: KVNamespace;
  /** The token Worker's RPC entrypoint (config.ts types the binding). */
  tokenService: Pick<TokenServiceRpc, "jwks">;
}

/**
 * The verification keys, held in isolate memory. They come from the KV copy
 * of the JWKS; an unknown `kid` (a key rotated in since) triggers one reload,
 * first from KV and then from the token Worker's `jwks()` RPC (D1's view,
 * reachable only over the service binding, so no public request can make
 * the token Worker read D1), at most once per cooldown so a flood of
 * made-up kids cannot turn into a flood of reads.
 *
 * A set is served for at most `maxAgeMs` after it was loaded: that bound is
 * how long an emergency-retired (compromised) key keeps verifying here. Past
 * it, a set KV cannot refresh (KV failing, or its copy gone) is refreshed
 * from the token Worker; if neither answers, no key is served (fail closed:
 * the token is refused as under an unknown kid, 401 invalid_token
 * ERR_TOKEN_KID_UNKNOWN) rather than the old set indefinitely.
 */
export class JwksCache {
  private keys = new Map<string, CryptoKey>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private lastKvReload = Number.NEGATIVE_INFINITY;
  private lastOriginReload = Number.NEGATIVE_INFINITY;
  private lastOriginFailure = Number.NEGATIVE_INFINITY;
  private readonly reloads = new SingleFlight<void>();

  constructor(
    private readonly sources: JwksSources,
    private readonly cooldownMs: number,
    /** How long a loaded set is used before the KV copy is read again (keys withdrawn since drop out then). */
    private readonly maxAgeMs: number = JWKS_KV_TTL_SECONDS * 1000,
  ) {}

  readonly resolve: KeyResolver = async (kid) => {
    const started = Date.now();
    const fresh = this.isFresh(started);
    const known = this.keys.get(kid);
    if (known && fresh) return known;
    try {
      await this.reload(kid, !fresh);
    } catch (error) {
      // A token under a kid we cannot fetch right now is refused as unknown
      // rather than failing the request.
      console.error("JWKS reload failed", error);
    }
    // Loaded during this call (a max age of 0 means every call rereads), or still within its max age.
    if (this.loadedAt >= started || this.isFresh(Date.now())) return this.keys.get(kid);
    // Past its max age and nothing could refresh it: a key retired since must not keep verifying.
    this.keys = new Map();
    return undefined;
  };

  private isFresh(now: number): boolean {
    return now - this.loadedAt < this.maxAgeMs;
  }

  /**
   * Concurrent callers share one reload (shared/isolate/single-flight.ts);
   * the first caller's kid decides whether it goes on to the token Worker.
   */
  private reload(kid: string, expired: boolean): Promise<void> {
    return this.reloads.run("keys", () => this.doReload(kid, expired));
  }

  private async doReload(kid: string, expired: boolean): Promise<void> {
    const now = Date.now();
    if (expired || now - this.lastKvReload >= this.cooldownMs) {
      this.lastKvReload = now;
      const fromKv = await this.readKv();
      const adopted = fromKv !== null && (await this.adopt(fromKv.keys));
      // The KV copy can lag a key the token Worker has just created.
      if (adopted && this.keys.has(kid)) return;
    }
    // An expired set KV did not refresh has only the token Worker left; its
    // cooldown then holds only after a failed call, so an outage of both
    // does not cost it one call per request.
    const stillExpired = !this.isFresh(Date.now());
    const lastAttempt = stillExpired ? this.lastOriginFailure : this.lastOriginReload;
    if (now - lastAttempt < this.cooldownMs) return;
    this.lastOriginReload = now;
    try {
      const body: { keys?: unknown } = await this.sources.tokenService.jwks();
      await this.adopt(body.keys);
    } catch (error) {
      this.lastOriginFailure = now;
      throw error;
    }
  }

  /** The KV copy of the JWKS; null when KV is failing or holds none (the token Worker is asked next). */
  private async readKv(): Promise<{ keys?: unknown } | null> {
    try {
      return await this.sources.KV.get<{ keys?: unknown }>(KV_KEY.jwks, "json");
    } catch (error) {
      console.error("JWKS: KV read failed", error);
      return null;
    }
  }

  /** Replaces the key set with the usable keys of a JWKS; false if it had none. */
  private async adopt(keys: unknown): Promise<boolean> {
    if (!Array.isArray(keys)) return false;
    const next = new Map<string, CryptoKey>();
    for (const jwk of keys as JWK[]) {
      if (!isUsableVerificationKey(jwk)) continue;
      next.set(jwk.kid as string, (await importJWK({ ...jwk, alg: SIGNING_ALG }, SIGNING_ALG)) as CryptoKey);
    }
    if (next.size === 0) return false;
    this.keys = next;
    this.loadedAt = Date.now();
    return true;
  }
}

/** Only public P-256 signing keys for our one algorithm (RFC 7517 §4). */
function isUsableVerificationKey(jwk: JWK): boolean {
  return (
    typeof jwk === "object" &&
    jwk !== null &&
    jwk.kty === "EC" &&
    jwk.crv === "P-256" &&
    typeof jwk.kid === "string" &&
    jwk.d === undefined &&
    (jwk.alg === undefined || jwk.alg === SIGNING_ALG) &&
    (jwk.use === undefined || jwk.use === "sig")
  );
}
