/**
 * Every KV key and Durable Object name Mono-Auth uses (docs/storage-schema.md).
 * D1 tables are in shared/db/schema.ts.
 */
export const KV_KEY = {
  /** The public JWKS as served at /.well-known/jwks.json (JSON). */
  jwks: "jwks:v1",
  /**
   * A published policy version's document (JSON), written before the org's
   * Durable Object names the version current and never changed after:
   * gateways compile it once per isolate and keep it for good.
   */
  policy: (orgId: string, version: number) => `policy:${orgId}:v${version}`,
  /**
   * A copy of an org's revocation snapshot (RevocationSnapshot, JSON),
   * written by its Durable Object a few seconds after a change. Only a cold
   * gateway isolate reads it, as a starting point it then brings up to date
   * from the object: never the freshness guarantee.
   */
  revocationMirror: (orgId: string) => `revocations:${orgId}`,
} as const;

/**
 * How long a verifier keeps the JWKS it loaded before re-reading the KV copy.
 * The copy itself has no expiration: the token Worker rewrites it whenever
 * the key set changes (workers/token/src/keys/rotation.ts). This, plus KV's
 * propagation (up to 60 s), bounds how long a gateway isolate still accepts
 * a key the token Worker has withdrawn — retired after its window, or by an
 * emergency rotation — at the price of one KV read per isolate per interval.
 */
export const JWKS_KV_TTL_SECONDS = 60;

/** One Durable Object per organization, addressed by name. */
export function orgStateName(orgId: string): string {
  return `org:${orgId}`;
}

/**
 * Cache API keys (per Cloudflare location). They are URLs on a host nobody
 * serves, so a request can never collide with a cached public response.
 */
export const CACHE_KEY = {
  /** One org's revocation snapshot, shared by every isolate of a location. */
  revocations: (orgId: string) => `https://cache.mono-auth.internal/revocations/${encodeURIComponent(orgId)}`,
} as const;
