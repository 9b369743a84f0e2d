/**
 * Every KV key, Durable Object name and Durable Object storage key Mono-Auth
 * uses (docs/storage-schema.md); the other objects' names sit with their
 * contracts (replay.ts, mint-limit.ts, ssf.ts). D1 tables are in
 * shared/db/schema.ts.
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

/** Keys of the `meta(key, value)` table in an `OrgState` object's SQLite storage (workers/org-state). */
export const ORG_STATE_META = {
  /** The revocation version: one more with every recorded revocation. */
  version: "version",
  /** The org's current published policy version (moves both ways: rollback). */
  policyVersion: "policy_version",
  /** The publish counter: only goes up. */
  policySequence: "policy_sequence",
  /** The highest event seq that may be missing from the log (revocation-log.ts). */
  logFloor: "log_floor",
  /** The version last written to the KV mirror (revocation-mirror.ts). */
  mirrorVersion: "mirror_version",
  /** When (ms) the next KV mirror write may run. */
  mirrorNotBefore: "mirror_not_before",
  /** KV mirror writes failed in a row since the last that succeeded: the retry's backoff (revocation-mirror.ts). */
  mirrorFailures: "mirror_failures",
  /** How many rows the `revocation` table holds, kept by triggers (revocation-capacity.ts). */
  entryRows: "entry_rows",
  /** What those rows cost in the snapshot over RPC, an upper bound in bytes, kept by triggers (revocation-capacity.ts). */
  entryBytes: "entry_bytes",
} as const;

/** Keys of the `meta(key, value)` table in an `SsfTransmitter` object's storage (workers/token/src/ssf). */
export const SSF_TRANSMITTER_META = {
  /** The org the object serves. */
  orgId: "org_id",
  /** The org's revocation version already turned into SETs. */
  cursor: "cursor",
  /** `1` while the org has a live stream. */
  active: "active",
  /** When (ms) a stream's last verification SET was enqueued (SSF 1.0 §8.1.1 min_verification_interval). */
  verifiedAt: (streamId: string) => `verified_at:${streamId}`,
} as const;

/**
 * Cache API keys (per Cloudflare location). They are URLs on a host nobody
 * serves, so a request can never collide with a cached public response.
 */
export const CACHE_KEY = {
  /** One org's revocation snapshot, shared by every isolate of a location. */
  revocations: (orgId: string) => `https://cache.mono-auth.internal/revocations/${encodeURIComponent(orgId)}`,
} as const;
