import type { RevocableClaims } from "../../../shared/contracts/org-state.ts";
import type { RevocationKind } from "../../../shared/contracts/revocation.ts";
import { tokenClients } from "../../../shared/revocation/is-token-revoked.ts";

/** One key a token may be listed under, and the `iat` a cut-off under it must reach. */
export type LiveEntryKey = [kind: RevocationKind, value: string, issuedAt: number];

/**
 * The keys that refuse a token by its own identity or by a cut-off compared
 * with its `iat`: its jti, its subject, its org, its client and every
 * actor's. Sessions and grants come on top where the caller counts them.
 */
export function cutOffKeys(claims: RevocableClaims): LiveEntryKey[] {
  return [
    ["jti", claims.jti, 0],
    ["subject", claims.sub, claims.iat],
    ["org", claims.org_id, claims.iat],
    ...tokenClients(claims).map((client): LiveEntryKey => ["client", client, claims.iat]),
  ];
}

/** Whether a live entry under `key` was made at or after the token's `iat` (0: any). */
export function isListed(sql: SqlStorage, [kind, value, issuedAt]: LiveEntryKey, now: number): boolean {
  return (
    sql
      .exec(
        "SELECT 1 FROM revocation WHERE kind = ? AND value = ? AND expires_at > ? AND revoked_at >= ? LIMIT 1",
        kind,
        value,
        now,
        issuedAt,
      )
      .toArray().length > 0
  );
}
