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

const COLUMNS = "grant_id AS grantId, org_id AS orgId, client_id AS clientId, user_id AS userId, presented, reason";

/** The cut-offs owed by a presented token's earlier uses (the index on `presented`). */
export async function owedGrantCutoffsOf(db: D1Database, presented: string): Promise<OwedGrantCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_grant_cutoff WHERE presented = ?1`)
    .bind(presented)
    .all<OwedGrantCutoff>();
  return rows.results;
}

/**
 * Up to `limit` owed grant cut-offs written before `beforeMs`, oldest first
 * (the cron's share). Younger rows may belong to a revocation still in
 * flight, which owes before Better Auth answers and withdraws its row if
 * Better Auth refused the client.
 */
export async function oldestOwedGrantCutoffs(
  db: D1Database,
  limit: number,
  beforeMs: number,
): Promise<OwedGrantCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_grant_cutoff WHERE created_at < ?2 ORDER BY created_at, grant_id LIMIT ?1`)
    .bind(limit, beforeMs)
    .all<OwedGrantCutoff>();
  return rows.results;
}

/**
 * Sends a row the org's object refused to the back of the cron's queue
 * (its `created_at` becomes now), so rows that keep being refused never
 * take every one of a run's slots.
 */
export async function postponeOwedGrantCutoff(db: D1Database, grantId: string): Promise<void> {
  await db.prepare("UPDATE owed_grant_cutoff SET created_at = ?2 WHERE grant_id = ?1").bind(grantId, Date.now()).run();
}

/** Deletes the grant's row: its cut-off is recorded, or (its writer only) the grant did not end after all. */
export async function clearOwedGrantCutoff(db: D1Database, grantId: string): Promise<void> {
  await db.prepare("DELETE FROM owed_grant_cutoff WHERE grant_id = ?1").bind(grantId).run();
}
