/**
 * Membership changes cut off the tokens they invalidate. A token names its
 * org and carries the subject's roles there (shared/contracts/tokens.ts), so
 * removing a member, a member leaving, or a change of role makes every token
 * the person holds for that org wrong (deleting the org makes every token
 * for it wrong: org-deletion.ts). Each records a `subject` cutoff in the
 * org's Durable Object (that person's tokens issued up to now). New tokens
 * are minted from the membership as it is after the change.
 *
 * Recorded before the change (a failure stops it: Better Auth's organization
 * hooks run just before the write, after its permission checks, and a throw
 * aborts the endpoint) and again after it: a token minted while the change
 * was being made carries an `iat` past the first cutoff, and the second,
 * later cutoff catches it. The second is owed from the write on (the write
 * and an `owed_member_cutoff` row go in one batch), so when the after hook
 * cannot record it (503 with the change made), the token Worker's cron does.
 */
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { member } from "../../../../shared/db/schema.ts";
import type { RevocationBindings } from "../../../../shared/revocation/record-revocation.ts";
import {
  clearOwedMemberCutoffs,
  owedMemberCutoff,
  owedMemberCutoffsFor,
} from "../../../../shared/revocation/owed-member-cutoffs.ts";
import { changeRoleKeepingAnOwner, removeKeepingAnOwner } from "../auth/last-owner.ts";
import { recordAllOrRefuse } from "./record-or-refuse.ts";

export type MembershipRevocationEnv = RevocationBindings & { DB: D1Database };

/** Cuts off one person's tokens in one org. Throws `revocationNotRecorded()` on failure. */
export function revokeMemberTokens(
  env: MembershipRevocationEnv,
  orgId: string,
  userId: string,
  reason: string,
): Promise<void> {
  return recordAllOrRefuse(env, [{ orgId, kind: "subject", value: userId, reason }]);
}

/**
 * Cuts off a person's tokens in every org they belong to (a deleted user:
 * their memberships go with them, without the organization hooks).
 */
export async function revokeUserEverywhere(env: MembershipRevocationEnv, userId: string, reason: string) {
  const orgs = await drizzle(env.DB)
    .select({ orgId: member.organizationId })
    .from(member)
    .where(eq(member.userId, userId))
    .all();
  await recordAllOrRefuse(
    env,
    orgs.map(({ orgId }) => ({ orgId, kind: "subject", value: userId, reason })),
  );
}

/** The person's role in the org (Better Auth's comma-separated list), or undefined for a non-member. */
export async function memberRole(env: Pick<MembershipRevocationEnv, "DB">, orgId: string, userId: string) {
  const row = await drizzle(env.DB)
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, userId)))
    .get();
  return row?.role;
}

interface MemberChange {
  member: { id: string; userId: string; organizationId: string; role: string };
}

/**
 * The after hooks' cut-off: records one for the person, then clears the
 * rows their change owed (read first, so the cut-off covers every change
 * whose row it clears; a concurrent change's row written later stays).
 */
export async function settleMemberTokens(
  env: MembershipRevocationEnv,
  orgId: string,
  userId: string,
  reason: string,
): Promise<void> {
  const owed = await owedMemberCutoffsFor(env.DB, orgId, userId);
  await revokeMemberTokens(env, orgId, userId, reason);
  await clearOwedMemberCutoffs(
    env.DB,
    owed.map((row) => row.id),
  ).catch((error: unknown) => {
    // Recorded: a row left only means the cron records it once more.
    console.error("owed member cut-off recorded but not cleared", orgId, error);
  });
}

/** Better Auth's organization plugin hooks (`organizationHooks`) that revoke. */
export function membershipRevocationHooks(env: MembershipRevocationEnv) {
  const memberChanged =
    (reason: string) =>
    async ({ member: changed }: MemberChange) => {
      await revokeMemberTokens(env, changed.organizationId, changed.userId, reason);
    };
  const memberChangedSettling =
    (reason: string) =>
    async ({ member: changed }: MemberChange) => {
      await settleMemberTokens(env, changed.organizationId, changed.userId, reason);
    };
  const owes = ({ member: changed }: MemberChange, reason: string) =>
    owedMemberCutoff(changed.organizationId, changed.userId, reason, changed.role);
  return {
    // After the revocation, so a change that could not be recorded changes nothing;
    // the write itself keeps the org an owner (auth/last-owner.ts).
    // The write carries the cut-off it owes (shared/revocation/owed-member-cutoffs.ts):
    // if the after hook cannot record it, the cron does.
    beforeRemoveMember: async (change: MemberChange) => {
      await memberChanged("member-removed")(change);
      await removeKeepingAnOwner(env.DB, change.member.id, owes(change, "member-removed"));
    },
    afterRemoveMember: memberChangedSettling("member-removed"),
    beforeUpdateMemberRole: async (change: MemberChange & { newRole: string }) => {
      await memberChanged("role-changed")(change);
      await changeRoleKeepingAnOwner(env.DB, change.member.id, change.newRole, owes(change, "role-changed"));
    },
    afterUpdateMemberRole: memberChangedSettling("role-changed"),
  };
}
