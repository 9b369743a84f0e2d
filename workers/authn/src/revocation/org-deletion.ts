/**
 * Deleting an org cuts off every token of it (an `org` revocation in its
 * Durable Object), before the delete and again after it: a token minted
 * while the delete was in flight carries an `iat` past the first cut-off,
 * and the second catches it. The second is owed from the delete on
 * (shared/revocation/owed-org-cutoffs.ts): so the delete is made here, in
 * Better Auth's `beforeDeleteOrganization` hook (after its permission
 * checks and the first cut-off), in one D1 batch with the row that owes it
 * and with the org unset as the active one of every session naming it
 * (Better Auth unsets only the deleting request's session), and Better
 * Auth's own delete after it finds nothing left to delete. The
 * `afterDeleteOrganization` hook records it and clears the row; if it
 * cannot (503 with the org deleted), the deleter's retry of
 * `/organization/delete` (endpoint-hooks.ts) or the token Worker's cron
 * records it. Two people deleting the org at once each owe a row of their
 * own, whichever batch deleted it, so each is answered for their own
 * deletion (200, or 503 and then their retry's 200).
 *
 * The org's object takes a cut-off for an org D1 no longer holds: it knows
 * orgs only by its own name (workers/org-state/src/own-org.ts).
 */
import {
  clearOwedOrgCutoffs,
  deleteOrgOwingRow,
  ORG_DELETED,
  type OrgDeletion,
  owedOrgCutoff,
  type OwedOrgCutoff,
  owedOrgCutoffsFor,
} from "../../../../shared/revocation/owed-org-cutoffs.ts";
import type { MembershipRevocationEnv } from "./membership-revocation.ts";
import { recordAllOrRefuse } from "./record-or-refuse.ts";

/** Cuts off every token of one org. Throws `revocationNotRecorded()` on failure. */
export function revokeOrgTokens(env: MembershipRevocationEnv, orgId: string, reason: string): Promise<void> {
  return recordAllOrRefuse(env, [{ orgId, kind: "org", value: orgId, reason }]);
}

/**
 * The org's delete as Better Auth's adapter makes it, with the owed row in
 * the same batch (deleteOrgOwingRow, which the admin API's deletion
 * makes too): it exists exactly when this batch deleted the org, or, when it
 * names who deleted it, also when a concurrent deletion came first
 * (oweOrgCutoff). The row keeps the org as the deletion answers it, for that
 * person's retry. Whether this batch deleted the org (false: a concurrent
 * deletion came first).
 */
export function deleteOrgOwing(db: D1Database, orgId: string, deletion?: OrgDeletion): Promise<boolean> {
  return deleteOrgOwingRow(db, owedOrgCutoff(orgId, ORG_DELETED, deletion));
}

/**
 * The rows one person's request may clear once the cut-off after them is
 * recorded: their own, and those that name no deleter (before migration
 * 0032, or an operator's deletion through the admin API; the cron's
 * otherwise). Another deleter's row stays although the
 * cut-off covers it: it is what answers that person's retry 200 (their
 * request may have answered 503), and the cron records it once more at
 * worst, a cut-off of an org that is gone.
 */
function clearableBy(owed: readonly OwedOrgCutoff[], userId: string): OwedOrgCutoff[] {
  return owed.filter((row) => row.deletedBy === userId || row.deletedBy === null);
}

/**
 * Records the `org` cut-off after the delete, then clears the rows owed for
 * the org by this deletion (read first, so the cut-off covers every delete
 * whose row it clears). Throws `revocationNotRecorded()` (503) when it
 * cannot be recorded, and the rows stay.
 */
export async function settleOrgDeletion(env: MembershipRevocationEnv, orgId: string, userId: string): Promise<void> {
  const owed = await owedOrgCutoffsFor(env.DB, orgId);
  await revokeOrgTokens(env, orgId, ORG_DELETED);
  await clearOwed(env, orgId, clearableBy(owed, userId));
}

/**
 * A retried deletion's part, for the person who deleted the org: records
 * the cut-off their deletion still owes and returns the org as that
 * deletion's 200 shows it, for the retry to answer (the org is gone: the
 * row exists only if its delete's batch deleted the org). Undefined when
 * this person's deletion owes nothing: the request goes on to Better Auth,
 * and a row owed by someone else's deletion is neither recorded nor
 * revealed here (the cron records it), so another person's answer says
 * nothing about an org they did not delete. A row names only someone whose
 * own request passed Better Auth's checks (a member allowed to delete the
 * org), a concurrent deletion's included (oweOrgCutoff): nobody else learns
 * from it that the org was deleted. Throws `revocationNotRecorded()`
 * (503) when it still cannot be recorded.
 */
export async function settleOwnOrgDeletion(
  env: MembershipRevocationEnv,
  orgId: string,
  userId: string,
): Promise<{ answer: Record<string, unknown> } | undefined> {
  const owed = await owedOrgCutoffsFor(env.DB, orgId);
  const own = owed.find((row) => row.deletedBy === userId);
  if (!own) return undefined;
  await revokeOrgTokens(env, orgId, own.reason);
  // Recorded after the read, so it covers every row read; another deleter's stays for their retry.
  await clearOwed(env, orgId, clearableBy(owed, userId));
  return { answer: own.deletedOrg === null ? { id: orgId } : (JSON.parse(own.deletedOrg) as Record<string, unknown>) };
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
    beforeDeleteOrganization: async ({
      organization,
      user,
    }: {
      organization: { id: string };
      user: { id: string };
    }) => {
      // First the cut-off (a failure deletes nothing), then the delete that owes the second.
      await revokeOrgTokens(env, organization.id, ORG_DELETED);
      // Better Auth answers the deletion with the org it read: the row keeps it for the deleter's retry.
      await deleteOrgOwing(env.DB, organization.id, { by: user.id, organization });
    },
    afterDeleteOrganization: async ({ organization, user }: { organization: { id: string }; user: { id: string } }) => {
      await settleOrgDeletion(env, organization.id, user.id);
    },
  };
}
