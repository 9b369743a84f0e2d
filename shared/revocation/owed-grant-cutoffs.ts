/**
 * D1 `owed_grant_cutoff`: the `grant` revocation a browser grant's end still
 * owes (docs/storage-schema.md). Revoking a refresh token (RFC 7009 §2.1),
 * using one again after it was rotated away (RFC 9700 §4.14.2) or replaying
 * a code (RFC 6749 §4.1.2) ends the grant's access tokens by an entry in the
 * org's Durable Object, read from the refresh token row; Better Auth deletes
 * that row (its reuse rule, a code replay) as it answers, so a cut-off that
 * could not be recorded then had nothing left to be read from again. The
 * row holds what the entry needs, from the row the token Worker read
 * (server-held, never the request's), and is deleted once the object has
 * the entry. One left behind: the retry presenting the same token (found by
 * its stored form, `presented`) or the token Worker's cron records it
 * (workers/token/src/oidc/owed-grant-cutoffs.ts).
 *
 * The member and org cut-offs' sibling (owed-member-cutoffs.ts,
 * owed-org-cutoffs.ts), kept apart because its entry is the grant's, keyed
 * by the grant: one owed cut-off per grant, however many of its tokens end it.
 */

import type { OwedCutoffTable } from "./owed-cutoff-queue.ts";

export interface OwedGrantCutoff {
  /** BROWSER_GRANT_ID_PREFIX and the code's stored form. */
  grantId: string;
  orgId: string;
  clientId: string;
  /** The person who consented (the rows' `user_id`): the entry is attributed to them. */
  userId: string;
  /** The stored form (shared/oidc/stored-token.ts) of the refresh token or code whose use ended the grant. */
  presented: string;
  reason: string;
}

/**
 * Owes the grant's cut-off. False when it was owed already (by an earlier
 * attempt, or another of the grant's tokens): that row stays as it was,
 * and only its writer may withdraw it.
 */
export async function oweGrantCutoff(db: D1Database, owed: OwedGrantCutoff): Promise<boolean> {
  const result = await oweGrantCutoffStatement(db, owed).run();
  return result.meta.changes > 0;
}

/** oweGrantCutoff's statement, for a batch that owes the cut-off with another write. */
export function oweGrantCutoffStatement(db: D1Database, owed: OwedGrantCutoff): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO owed_grant_cutoff (grant_id, org_id, client_id, user_id, presented, reason, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (grant_id) DO NOTHING`,
    )
    .bind(owed.grantId, owed.orgId, owed.clientId, owed.userId, owed.presented, owed.reason, Date.now());
}

/**
 * How old a row must be for the cron to take it: a revocation owes its
 * grant's cut-off before Better Auth answers and withdraws the row when
 * Better Auth refused the client (workers/token/src/oidc/browser-revocation.ts),
 * all within its grant's turn (ten seconds at most, oidc/grant-turns.ts);
 * the cron leaves it that request's to settle or withdraw.
 */
const IN_FLIGHT_MS = 60_000;

/** The cron's queue (owed-cutoff-queue.ts): only rows written before IN_FLIGHT_MS ago. */
export const OWED_GRANT_CUTOFFS: OwedCutoffTable<OwedGrantCutoff> = {
  table: "owed_grant_cutoff",
  key: "grant_id",
  columns: "grant_id AS grantId, org_id AS orgId, client_id AS clientId, user_id AS userId, presented, reason",
  keyOf: (row) => row.grantId,
  inFlight: { ms: IN_FLIGHT_MS, taken: "created_at < ?2" },
  name: "owed grant cut-off",
};

const COLUMNS = OWED_GRANT_CUTOFFS.columns;

/** The cut-offs owed by a presented token's earlier uses (the index on `presented`). */
export async function owedGrantCutoffsOf(db: D1Database, presented: string): Promise<OwedGrantCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_grant_cutoff WHERE presented = ?1`)
    .bind(presented)
    .all<OwedGrantCutoff>();
  return rows.results;
}

/** Deletes the grant's row: its cut-off is recorded, or (its writer only) the grant did not end after all. */
export async function clearOwedGrantCutoff(db: D1Database, grantId: string): Promise<void> {
  await db.prepare("DELETE FROM owed_grant_cutoff WHERE grant_id = ?1").bind(grantId).run();
}
