/**
 * Deleting an org cuts off every token of it (an `org` revocation in its
 * Durable Object), before the delete and again after it: a token minted
 * while the delete was in flight carries an `iat` past the first cut-off,
 * and the second catches it. The second is owed from the delete on
 * (shared/revocation/owed-org-cutoffs.ts): so the delete is made here, in
 * Better Auth's `beforeDeleteOrganization` hook (after its permission
 * checks and the first cut-off), in one D1 batch with the row that owes it,
 * and Better Auth's own delete after it finds nothing left to delete. The
 * `afterDeleteOrganization` hook records it and clears the row; if it
 * cannot (503 with the org deleted), the retry of `/organization/delete`
 * (endpoint-hooks.ts) or the token Worker's cron records it.
 *
 * The org's object takes a cut-off for an org D1 no longer holds: it knows
 * orgs only by its own name (workers/org-state/src/own-org.ts).
 */
import {
  clearOwedOrgCutoffs,
  oweOrgCutoff,
  owedOrgCutoff,
  owedOrgCutoffsFor,
} from "../../../../shared/revocation/owed-org-cutoffs.ts";
import type { MembershipRevocationEnv } from "./membership-revocation.ts";
import { recordAllOrRefuse } from "./record-or-refuse.ts";

/** The revocation's reason, and an owed cut-off's. */
export const ORG_DELETED = "org-deleted";

/** Cuts off every token of one org. Throws `revocationNotRecorded()` on failure. */
export function revokeOrgTokens(env: MembershipRevocationEnv, orgId: string, reason: string): Promise<void> {
  return recordAllOrRefuse(env, [{ orgId, kind: "org", value: orgId, reason }]);
}

/**
 * The org's delete as Better Auth's adapter makes it (its members, its
 * invitations, then the org; the organization plugin runs without teams,
 * auth/options.ts), with the owed row last in the same batch: it exists
 * exactly when this batch deleted the org. Whether it did (false: a
 * concurrent deletion came first, and owes its own).
 */
export async function deleteOrgOwing(db: D1Database, orgId: string): Promise<boolean> {
  const results = await db.batch([
    db.prepare("DELETE FROM member WHERE organization_id = ?1").bind(orgId),
    db.prepare("DELETE FROM invitation WHERE organization_id = ?1").bind(orgId),
    db.prepare("DELETE FROM organization WHERE id = ?1").bind(orgId),
    oweOrgCutoff(db, owedOrgCutoff(orgId, ORG_DELETED)),
  ]);
  return (results[2]?.meta.changes ?? 0) > 0;
}

/**
 * Records the `org` cut-off after the delete, then clears the rows owed for
 * the org (read first, so the cut-off covers every delete whose row it
 * clears). Throws `revocationNotRecorded()` (503) when it cannot be
 * recorded, and the rows stay.
 */
export async function settleOrgDeletion(env: MembershipRevocationEnv, orgId: string): Promise<void> {
  const owed = await owedOrgCutoffsFor(env.DB, orgId);
  await revokeOrgTokens(env, orgId, ORG_DELETED);
  await clearOwed(env, orgId, owed);
}

/**
 * A retried deletion's part: records the cut-off a deletion of this org
 * still owes, if any, before the request goes on (Better Auth then answers
 * for an org that is gone). Throws `revocationNotRecorded()` (503) when it
 * still cannot be recorded.
 */
export async function settleOwedOrgCutoffs(env: MembershipRevocationEnv, orgId: string): Promise<void> {
  const owed = await owedOrgCutoffsFor(env.DB, orgId);
  const first = owed[0];
  if (!first) return;
  await revokeOrgTokens(env, orgId, first.reason);
  await clearOwed(env, orgId, owed);
}

async function clearOwed(env: MembershipRevocationEnv, orgId: string, owed: readonly { id: string }[]) {
  await clearOwedOrgCutoffs(
    env.DB,
    owed.map((row) => row.id),
  ).catch((error: unknown) => {
    // Recorded: a row left only means the cron records it once more.
    console.error("owed org cut-off recorded but not cleared", orgId, error);
  });
}

/** Better Auth's organization plugin hooks (`organizationHooks`) for a deletion. */
export function orgDeletionHooks(env: MembershipRevocationEnv) {
  return {
    beforeDeleteOrganization: async ({ organization }: { organization: { id: string } }) => {
      // First the cut-off (a failure deletes nothing), then the delete that owes the second.
      await revokeOrgTokens(env, organization.id, ORG_DELETED);
      await deleteOrgOwing(env.DB, organization.id);
    },
    afterDeleteOrganization: async ({ organization }: { organization: { id: string } }) => {
      await settleOrgDeletion(env, organization.id);
    },
  };
}
