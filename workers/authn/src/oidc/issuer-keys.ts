import { importJWK, type JWK } from "jose";
import { JWKS_KV_TTL_SECONDS } from "../../../../shared/contracts/storage-keys.ts";
import type { TokenServiceRpc } from "../../../../shared/contracts/token-service.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { SingleFlight } from "../../../../shared/isolate/single-flight.ts";

/** An unknown `kid` reloads at most this often, so made-up kids cannot turn into a read per request. */
const RELOAD_COOLDOWN_MS = 5_000;

type Keys = Map<string, CryptoKey>;

/**
 * The issuer's verification keys for the authn Worker's own checks of the
 * tokens presented to it (oidc/userinfo-revocation.ts), from the token
 * Worker's `jwks()` RPC over the service binding: the authn Worker has no
 * KV copy, and fetching its own public JWKS URL needs the zone to allow it
 * (docs/authn.md's deploy note). Held for the gateway's max age (a key
 * retired in an emergency stops verifying here as soon as there), reloaded
 * for an unknown `kid` at most once per cooldown; a set that is too old and
 * cannot be reloaded serves no key (fail closed: 401 invalid_token
 * ERR_TOKEN_KID_UNKNOWN).
 */
export class IssuerKeys {
  private keys: Keys = new Map();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private readonly loads = new SingleFlight<Keys>();

  constructor(private readonly maxAgeMs: number = JWKS_KV_TTL_SECONDS * 1000) {}

  resolver(tokenService: Pick<TokenServiceRpc, "jwks">): KeyResolver {
    return (kid) => this.resolve(tokenService, kid);
  }

  private async resolve(tokenService: Pick<TokenServiceRpc, "jwks">, kid: string): Promise<CryptoKey | undefined> {
    const started = Date.now();
    const fresh = started - this.loadedAt < this.maxAgeMs;
    if (fresh && this.keys.has(kid)) return this.keys.get(kid);
    if (!fresh || started - this.lastAttempt >= RELOAD_COOLDOWN_MS) {
      this.lastAttempt = started;
      try {
        this.keys = await this.loads.run("keys", () => loadKeys(tokenService));
        this.loadedAt = Date.now();
      } catch (error) {
        console.error("issuer keys: jwks() failed", error);
      }
    }
    if (Date.now() - this.loadedAt < this.maxAgeMs) return this.keys.get(kid);
    this.keys = new Map();
    return undefined;
  }
}

/** The usable keys of the issuer's JWKS (RFC 7517 §4): public P-256 signing keys for our one algorithm. */
async function loadKeys(tokenService: Pick<TokenServiceRpc, "jwks">): Promise<Keys> {
  const { keys } = await tokenService.jwks();
  const next: Keys = new Map();
  for (const jwk of keys as JWK[]) {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.kid !== "string" || jwk.d !== undefined) continue;
    if ((jwk.use !== undefined && jwk.use !== "sig") || (jwk.alg !== undefined && jwk.alg !== SIGNING_ALG)) continue;
    next.set(jwk.kid, (await importJWK({ ...jwk, alg: SIGNING_ALG }, SIGNING_ALG)) as CryptoKey);
  }
  return next;
}

/** The isolate's one copy, for every check of a token presented to the authn Worker (userinfo, logout hints). */
export const ISSUER_KEYS = new IssuerKeys();
