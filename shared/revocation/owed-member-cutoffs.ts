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

import { clearOwedRows, type OwedCutoffTable } from "./owed-cutoff-queue.ts";

/** A leave's reason: its row is written before Better Auth's delete (`unconditional`). */
export const MEMBER_LEFT = "member-left";

/**
 * How long a row is its own request's before anyone else may clear it. A
 * leave's row is written before Better Auth's delete, which follows within
 * the same request a few D1 round-trips later; a cut-off recorded before
 * the delete lands does not cover tokens minted between it and the delete,
 * and if the request then dies (or Better Auth throws a non-API error after
 * the delete, so the after hooks do not run) nothing owes another. So the
 * cron takes only rows older than this, and a concurrent change of the
 * membership leaves a young leave row alone while the person is still a
 * member (owedMemberCutoffsFor). Two minutes: far past the gap between a
 * before hook and its delete (one request, each D1 query bounded at 30
 * seconds by D1 itself), and well under the cron's five-minute period, so
 * the cron's promise still holds within about one period.
 */
export const OWED_ROW_GRACE_MS = 2 * 60_000;

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

/** The cron's queue (owed-cutoff-queue.ts): past OWED_ROW_GRACE_MS, for a leave's row whose delete may not have landed. */
export const OWED_MEMBER_CUTOFFS: OwedCutoffTable<OwedMemberCutoff> = {
  table: "owed_member_cutoff",
  key: "id",
  columns: "id, org_id AS orgId, user_id AS userId, reason, previous_role AS previousRole",
  keyOf: (row) => row.id,
  inFlight: { ms: OWED_ROW_GRACE_MS, taken: "created_at <= ?2" },
  name: "owed member cut-off",
};

const COLUMNS = OWED_MEMBER_CUTOFFS.columns;

/**
 * The cut-offs owed for one person in one org, oldest first. Each was
 * committed with its change, so a cut-off recorded after this read covers
 * every change it returns; a row committed after the read is not returned
 * and stays for its own change. Not returned either: a leave's row younger
 * than OWED_ROW_GRACE_MS while the person is still a member, whose delete
 * may not have landed yet; a cut-off recorded now would not cover it, so
 * the row stays for the leave's own after hook, or the cron after the
 * grace. Once the membership is gone (read in this same statement) the
 * delete came first, and the row is returned as any other.
 */
export async function owedMemberCutoffsFor(db: D1Database, orgId: string, userId: string): Promise<OwedMemberCutoff[]> {
  const rows = await db
    .prepare(
      `SELECT ${COLUMNS} FROM owed_member_cutoff o
       WHERE org_id = ?1 AND user_id = ?2
         AND NOT (reason = ?3 AND created_at > ?4
                  AND EXISTS (SELECT 1 FROM member m WHERE m.organization_id = o.org_id AND m.user_id = o.user_id))
       ORDER BY created_at, id`,
    )
    .bind(orgId, userId, MEMBER_LEFT, Date.now() - OWED_ROW_GRACE_MS)
    .all<OwedMemberCutoff>();
  return rows.results;
}

/**
 * Up to `limit` of the cut-offs owed in one org for one reason, oldest
 * first: a SCIM Group write's retry records those a Group write left
 * (`scim-role-changed`), including those of people the write took out of
 * the Group, whom the retry no longer names, a bounded share per request
 * (scim/roles.ts settleOwedRoles). Committed before this read, as for
 * owedMemberCutoffsFor.
 */
export async function owedMemberCutoffsOf(
  db: D1Database,
  orgId: string,
  reason: string,
  limit: number,
): Promise<OwedMemberCutoff[]> {
  const rows = await db
    .prepare(
      `SELECT ${COLUMNS} FROM owed_member_cutoff WHERE org_id = ?1 AND reason = ?2 ORDER BY created_at, id LIMIT ?3`,
    )
    .bind(orgId, reason, limit)
    .all<OwedMemberCutoff>();
  return rows.results;
}

/** Deletes the rows named, once their cut-off is recorded (or their change was refused). */
export async function clearOwedMemberCutoffs(db: D1Database, ids: readonly string[]): Promise<void> {
  await clearOwedRows(db, OWED_MEMBER_CUTOFFS, ids);
}
