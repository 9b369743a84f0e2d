import { importJWK, type JWK } from "jose";
import { JWKS_KV_TTL_SECONDS, KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";

export interface JwksSources {
  KV: KVNamespace;
  TOKEN: Fetcher;
}

/**
 * The verification keys, held in isolate memory. They come from the KV copy
 * of the JWKS; an unknown `kid` (a key rotated in since) triggers one reload,
 * first from KV and then from the token Worker, at most once per cooldown so
 * a flood of made-up kids cannot turn into a flood of fetches.
 */
export class JwksCache {
  private keys = new Map<string, CryptoKey>();
  private loadedAt = 0;
  private lastKvReload = Number.NEGATIVE_INFINITY;
  private lastOriginReload = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly sources: JwksSources,
    private readonly cooldownMs: number,
  ) {}

  readonly resolve: KeyResolver = async (kid) => {
    const fresh = Date.now() - this.loadedAt < JWKS_KV_TTL_SECONDS * 1000;
    const known = this.keys.get(kid);
    if (known && fresh) return known;
    try {
      await this.reload(!fresh);
    } catch (error) {
      // The keys we already hold stay valid; a token under a kid we cannot
      // fetch right now is refused as unknown rather than failing the request.
      console.error("JWKS reload failed", error);
    }
    return this.keys.get(kid);
  };

  private reload(expired: boolean): Promise<void> {
    this.inflight ??= this.doReload(expired).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async doReload(expired: boolean): Promise<void> {
    const now = Date.now();
    if (expired || now - this.lastKvReload >= this.cooldownMs) {
      this.lastKvReload = now;
      const fromKv = await this.sources.KV.get<{ keys?: unknown }>(KV_KEY.jwks, "json");
      if (fromKv && (await this.adopt(fromKv.keys))) return;
    }
    if (now - this.lastOriginReload < this.cooldownMs) return;
    this.lastOriginReload = now;
    // `no-cache` asks the token Worker to rebuild the JWKS from D1.
    const response = await this.sources.TOKEN.fetch("https://token.internal/.well-known/jwks.json", {
      headers: { "Cache-Control": "no-cache" },
    });
    if (!response.ok) throw new Error(`JWKS fetch failed with ${response.status}`);
    const body = (await response.json()) as { keys?: unknown };
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
