/**
 * Every KV key and Durable Object name Mono-Auth uses (docs/storage-schema.md).
 * D1 tables are in shared/db/schema.ts.
 */
export const KV_KEY = {
  /** The public JWKS as served at /.well-known/jwks.json (JSON). */
  jwks: "jwks:v1",
} as const;

/** TTL of the KV copy of the JWKS; the token Worker rewrites it on rotation. */
export const JWKS_KV_TTL_SECONDS = 3600;

/** One Durable Object per organization, addressed by name. */
export function orgStateName(orgId: string): string {
  return `org:${orgId}`;
}
