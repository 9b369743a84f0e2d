import type { RevocableClaims } from "../../../shared/contracts/org-state.ts";
import { clientSubjectValue, type RevocationEntry, type RevocationKind } from "../../../shared/contracts/revocation.ts";
import { delegatedFromUnnamedBrowserGrant, tokenClients } from "../../../shared/revocation/is-token-revoked.ts";

/** One key a token may be listed under, and the `iat` a cut-off under it must reach. */
export type LiveEntryKey = [kind: RevocationKind, value: string, issuedAt: number];

/**
 * The keys that refuse a token by its own identity or by a cut-off compared
 * with its `iat`: its jti, its subject, its org, its client and every
 * actor's, its person at its own client (`client_subject`) and at the
 * client of each browser grant it rests on (`grant_chain_clients`, a token
 * delegated from one). Sessions and grants come on top where the caller
 * counts them; so does a `client_subject` cut-off of its person at any
 * client, which only a token delegated from a browser grant that does not
 * name the grant's client meets (isCutOffForPerson). And each token it
 * was derived from (`derived_from`, shared/revocation/derived-from.ts): its
 * jti, and its client's cut-off compared with its own `iat` — at most
 * MAX_DERIVED_FROM_LENGTH more keys.
 */
export function cutOffKeys(claims: RevocableClaims): LiveEntryKey[] {
  const keys: LiveEntryKey[] = [
    ["jti", claims.jti, 0],
    ["subject", claims.sub, claims.iat],
    ["org", claims.org_id, claims.iat],
    ...tokenClients(claims).map((client): LiveEntryKey => ["client", client, claims.iat]),
    ["client_subject", clientSubjectValue(claims.client_id, claims.sub), claims.iat],
  ];
  const grantClients = new Set(Object.values(claims.grant_chain_clients ?? {}));
  grantClients.delete(claims.client_id);
  for (const client of grantClients) keys.push(["client_subject", clientSubjectValue(client, claims.sub), claims.iat]);
  for (const ancestor of claims.derived_from ?? []) {
    keys.push(["jti", ancestor.jti, 0], ["client", ancestor.client_id, ancestor.iat]);
  }
  return keys;
}

/**
 * Whether a token delegated from a browser grant without saying whose
 * (delegatedFromUnnamedBrowserGrant, shared/revocation/is-token-revoked.ts:
 * signed before `grant_chain_clients`) meets a live `client_subject`
 * cut-off of its person at any client made at or after its `iat`. By the
 * row's `subject` column (revocation_by_subject), which the fold writes.
 */
export function isCutOffForPerson(sql: SqlStorage, claims: RevocableClaims, now: number): boolean {
  if (!delegatedFromUnnamedBrowserGrant(claims)) return false;
  return (
    sql
      .exec(
        `SELECT 1 FROM revocation WHERE subject = ? AND kind = 'client_subject' AND expires_at > ? AND revoked_at >= ?
         LIMIT 1`,
        claims.sub,
        now,
        claims.iat,
      )
      .toArray().length > 0
  );
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

/**
 * Whether a live entry matches the token (OrgState.isRevoked): every key of
 * cutOffKeys, its session and the grants it rests on. A module function, not
 * a method of the object: nothing outside it may call it with its own `now`.
 */
export function matchesLiveEntry(sql: SqlStorage, claims: RevocableClaims, now: number): boolean {
  const keys = cutOffKeys(claims);
  if (claims.sid !== undefined) keys.push(["session", claims.sid, 0]);
  if (claims.grant_id !== undefined) keys.push(["grant", claims.grant_id, 0]);
  for (const grant of claims.grant_chain ?? []) keys.push(["grant", grant, 0]);
  return keys.some((key) => isListed(sql, key, now)) || isCutOffForPerson(sql, claims, now);
}

/**
 * Every entry live at `now`, as the snapshot carries them. An RFC 7009 jti
 * row says whose token it is (token-revocation.ts), as its event does; a
 * browser grant row whose grant it is, a `client_subject` row the pair its
 * value names (browser-grant-revocation.ts).
 */
export function liveEntries(sql: SqlStorage, now: number): RevocationEntry[] {
  return sql
    .exec<{
      kind: RevocationKind;
      value: string;
      revoked_at: number;
      expires_at: number;
      client_id: string | null;
      issued_at: number | null;
      subject: string | null;
    }>(
      "SELECT kind, value, revoked_at, expires_at, client_id, issued_at, subject FROM revocation WHERE expires_at > ?",
      now,
    )
    .toArray()
    .map((row): RevocationEntry => {
      const entry = { kind: row.kind, value: row.value, revokedAt: row.revoked_at, expiresAt: row.expires_at };
      if (row.kind === "jti" && row.client_id !== null && row.issued_at !== null) {
        return { ...entry, clientId: row.client_id, issuedAt: row.issued_at };
      }
      if ((row.kind === "grant" || row.kind === "client_subject") && row.client_id !== null && row.subject !== null) {
        return { ...entry, clientId: row.client_id, subject: row.subject };
      }
      return entry;
    });
}
