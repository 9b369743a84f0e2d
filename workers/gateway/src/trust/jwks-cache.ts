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
 */
export class JwksCache {
  private keys = new Map<string, CryptoKey>();
  private loadedAt = 0;
  private lastKvReload = Number.NEGATIVE_INFINITY;
  private lastOriginReload = Number.NEGATIVE_INFINITY;
  private readonly reloads = new SingleFlight<void>();

  constructor(
    private readonly sources: JwksSources,
    private readonly cooldownMs: number,
    /** How long a loaded set is used before the KV copy is read again (keys withdrawn since drop out then). */
    private readonly maxAgeMs: number = JWKS_KV_TTL_SECONDS * 1000,
  ) {}

  readonly resolve: KeyResolver = async (kid) => {
    const fresh = Date.now() - this.loadedAt < this.maxAgeMs;
    const known = this.keys.get(kid);
    if (known && fresh) return known;
    try {
      await this.reload(kid, !fresh);
    } catch (error) {
      // The keys we already hold stay valid; a token under a kid we cannot
      // fetch right now is refused as unknown rather than failing the request.
      console.error("JWKS reload failed", error);
    }
    return this.keys.get(kid);
  };

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
      const fromKv = await this.sources.KV.get<{ keys?: unknown }>(KV_KEY.jwks, "json");
      if (fromKv) await this.adopt(fromKv.keys);
      // The KV copy can lag a key the token Worker has just created.
      if (this.keys.has(kid)) return;
    }
    if (now - this.lastOriginReload < this.cooldownMs) return;
    this.lastOriginReload = now;
    const body: { keys?: unknown } = await this.sources.tokenService.jwks();
    await this.adopt(body.keys);
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
