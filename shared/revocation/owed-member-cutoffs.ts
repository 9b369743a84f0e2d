/**
 * D1 `owed_member_cutoff`: a member's `subject` cut-off that a change of the
 * membership still owes (docs/storage-schema.md). A removal or a demotion
 * records a cut-off before its write and another after it, for tokens
 * minted while the write was in flight; the second is owed from the write
 * on. The row goes in with the write, and is deleted once the second
 * cut-off is recorded. One left behind means that cut-off could not be
 * recorded: whoever comes next (the change's retry, any later change of the
 * membership, the token Worker's cron) records it first.
 *
 * Written by the token Worker's admin API (admin/member-changes.ts) and the
 * authn Worker's Better Auth hooks (revocation/membership-revocation.ts).
 */

export interface OwedMemberCutoff {
  /** Random: clearing a row names it, so a later change's own row stays until its own cut-off. */
  id: string;
  orgId: string;
  userId: string;
  /** The revocation's reason: `member-removed`, `member-left` or `role-changed`. */
  reason: string;
  /** The role before the change, for the answer the admin API gives a retry. */
  previousRole: string;
}

export function owedMemberCutoff(
  orgId: string,
  userId: string,
  reason: string,
  previousRole: string,
): OwedMemberCutoff {
  return { id: crypto.randomUUID(), orgId, userId, reason, previousRole };
}

/**
 * The row, for the change's own D1 batch, placed right after its write:
 * SQLite's `changes()` then counts that write's rows, so the row exists
 * exactly when the write changed the membership (a batch is one
 * transaction). `unconditional` for a change whose write is not ours to
 * batch (Better Auth's leave deletes the row itself): the row is written
 * before it, and cleared if the change is refused.
 */
export function oweMemberCutoff(
  db: D1Database,
  owed: OwedMemberCutoff,
  when: "if-written" | "unconditional",
): D1PreparedStatement {
  const condition = when === "if-written" ? " WHERE changes() > 0" : "";
  return db
    .prepare(
      `INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6${condition}`,
    )
    .bind(owed.id, owed.orgId, owed.userId, owed.reason, owed.previousRole, Date.now());
}

const COLUMNS = "id, org_id AS orgId, user_id AS userId, reason, previous_role AS previousRole";

/**
 * The cut-offs owed for one person in one org, oldest first. Each was
 * committed with its change, so a cut-off recorded after this read covers
 * every change it returns; a row committed after the read is not returned
 * and stays for its own change.
 */
export async function owedMemberCutoffsFor(db: D1Database, orgId: string, userId: string): Promise<OwedMemberCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_member_cutoff WHERE org_id = ?1 AND user_id = ?2 ORDER BY created_at, id`)
    .bind(orgId, userId)
    .all<OwedMemberCutoff>();
  return rows.results;
}

/**
 * The cut-offs owed in one org for one reason, oldest first: a SCIM Group
 * write's retry records every one a Group write left (`scim-role-changed`),
 * including those of people the write took out of the Group, whom the
 * retry no longer names. Committed before this read, as for
 * owedMemberCutoffsFor.
 */
export async function owedMemberCutoffsOf(db: D1Database, orgId: string, reason: string): Promise<OwedMemberCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_member_cutoff WHERE org_id = ?1 AND reason = ?2 ORDER BY created_at, id`)
    .bind(orgId, reason)
    .all<OwedMemberCutoff>();
  return rows.results;
}

/** Up to `limit` owed cut-offs of any org, oldest first (the cron's share). */
export async function oldestOwedMemberCutoffs(db: D1Database, limit: number): Promise<OwedMemberCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_member_cutoff ORDER BY created_at, id LIMIT ?1`)
    .bind(limit)
    .all<OwedMemberCutoff>();
  return rows.results;
}

/** Deletes the rows named, once their cut-off is recorded (or their change was refused). */
export async function clearOwedMemberCutoffs(db: D1Database, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .prepare(`DELETE FROM owed_member_cutoff WHERE id IN (SELECT value FROM json_each(?1))`)
    .bind(JSON.stringify(ids))
    .run();
}
