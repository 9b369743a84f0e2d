/**
 * D1 `owed_org_cutoff`: the `org` cut-off an org's deletion still owes
 * (docs/storage-schema.md). A deletion records an `org` cut-off before its
 * delete and another after it, for tokens minted while the delete was in
 * flight; the second is owed from the delete on. The row goes in with the
 * delete (its own D1 batch), and is deleted once the second cut-off is
 * recorded in the org's Durable Object, which records a cut-off for an org
 * D1 no longer holds as for any other. One left behind means it could not
 * be recorded: the deleter's retry or the token Worker's cron records it.
 *
 * The member cut-offs' sibling (owed-member-cutoffs.ts), kept apart because
 * its cut-off is the org's, not a person's (it names the deleter only to
 * answer their retry, migration 0032). Written by the authn Worker's Better Auth
 * hooks (workers/authn/src/revocation/org-deletion.ts) and the admin API's
 * `DELETE /orgs/{org}` (workers/token/src/admin/org-deletion.ts).
 */

import { clearOwedRows, type OwedCutoffTable } from "./owed-cutoff-queue.ts";

/** The revocation's reason, and an owed cut-off's, when an org is deleted. */
export const ORG_DELETED = "org-deleted";

export interface OwedOrgCutoff {
  /** Random: clearing a row names it. */
  id: string;
  orgId: string;
  /** The revocation's reason: `org-deleted`. */
  reason: string;
  /**
   * Who deleted the org: only their retry settles the row and is answered 200. Null on rows from
   * before migration 0032 and on an operator's deletion (the admin API's answers 200 either way,
   * so no retry of it needs the row): the cron's, or any deletion's cut-off clears it.
   */
  deletedBy: string | null;
  /** The org as the deletion's 200 shows it (JSON), that retry's answer; null with `deletedBy`. */
  deletedOrg: string | null;
}

/** Who deleted the org, and the org as Better Auth read it for the deletion (its 200 answer). */
export interface OrgDeletion {
  by: string;
  organization: unknown;
}

export function owedOrgCutoff(orgId: string, reason: string, deletion?: OrgDeletion): OwedOrgCutoff {
  return {
    id: crypto.randomUUID(),
    orgId,
    reason,
    deletedBy: deletion?.by ?? null,
    deletedOrg: deletion ? JSON.stringify(deletion.organization) : null,
  };
}

/**
 * The row, for the deletion's own D1 batch, placed right after the
 * organization's DELETE: SQLite's `changes()` then counts that statement's
 * rows, so a row that names no deleter exists exactly when this batch
 * deleted the org (a batch is one transaction). A row that names its
 * deleter is written either way: Better Auth read the org and the person's
 * membership (with the right to delete it) in the same request just before
 * (organizationHooks.beforeDeleteOrganization), so an org already gone was
 * taken by a concurrent deletion in between, and this deletion owes the
 * cut-off after it as much as that one does: its answer, 200 or 503 and
 * then its retry's 200, is this person's to have, not Better Auth's 400
 * for an org they are not in.
 */
export function oweOrgCutoff(db: D1Database, owed: OwedOrgCutoff): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO owed_org_cutoff (id, org_id, reason, created_at, deleted_by, deleted_org)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE changes() > 0 OR ?5 IS NOT NULL`,
    )
    .bind(owed.id, owed.orgId, owed.reason, Date.now(), owed.deletedBy, owed.deletedOrg);
}

/**
 * The org's delete as Better Auth's organization plugin makes it
 * (adapter.deleteOrganization: its members, its invitations, then the org;
 * no teams, which the plugin runs without, workers/authn/src/auth/options.ts),
 * with the owed row right after the org's DELETE, and every session whose
 * active org it was left with none, all one D1 batch (one transaction).
 * Better Auth unsets the active org of the deleting request's own session
 * only; every other session naming it (the deleter's others, the other
 * members', all of them for an operator's deletion) would keep a gone org
 * as active, and the session exchange (POST /app/token,
 * workers/token/src/sessions/bind-session.ts) would read it as a membership
 * the person lost rather than as no active org. Whether this batch deleted
 * the org (false: a concurrent deletion came first, and its batch unset
 * the sessions). Rows of the org Better Auth's delete leaves
 * (clients, policies, grants…) stay, for either path alike: the `org`
 * cut-offs end their tokens and the token endpoint knows no client of an
 * org that is gone.
 */
export async function deleteOrgOwingRow(db: D1Database, owed: OwedOrgCutoff): Promise<boolean> {
  const results = await db.batch([
    db.prepare("DELETE FROM member WHERE organization_id = ?1").bind(owed.orgId),
    db.prepare("DELETE FROM invitation WHERE organization_id = ?1").bind(owed.orgId),
    db.prepare("DELETE FROM organization WHERE id = ?1").bind(owed.orgId),
    oweOrgCutoff(db, owed),
    // Seeks session_active_org_idx (migration 0034), not the whole table.
    db.prepare("UPDATE session SET active_organization_id = NULL WHERE active_organization_id = ?1").bind(owed.orgId),
  ]);
  return (results[2]?.meta.changes ?? 0) > 0;
}

/**
 * The cron's queue (owed-cutoff-queue.ts). No in-flight window: the row is
 * written in the batch of the delete it follows, so one the cron reads is
 * committed with its delete, and an `org` cut-off recorded now covers it.
 */
export const OWED_ORG_CUTOFFS: OwedCutoffTable<OwedOrgCutoff> = {
  table: "owed_org_cutoff",
  key: "id",
  columns: "id, org_id AS orgId, reason, deleted_by AS deletedBy, deleted_org AS deletedOrg",
  keyOf: (row) => row.id,
  name: "owed org cut-off",
};

const COLUMNS = OWED_ORG_CUTOFFS.columns;

/**
 * The cut-offs owed for one org, oldest first. Each was committed with its
 * delete, so a cut-off recorded after this read covers every one it
 * returns.
 */
export async function owedOrgCutoffsFor(db: D1Database, orgId: string): Promise<OwedOrgCutoff[]> {
  const rows = await db
    .prepare(`SELECT ${COLUMNS} FROM owed_org_cutoff WHERE org_id = ?1 ORDER BY created_at, id`)
    .bind(orgId)
    .all<OwedOrgCutoff>();
  return rows.results;
}

/** Deletes the rows named, once their cut-off is recorded. */
export async function clearOwedOrgCutoffs(db: D1Database, ids: readonly string[]): Promise<void> {
  await clearOwedRows(db, OWED_ORG_CUTOFFS, ids);
}
