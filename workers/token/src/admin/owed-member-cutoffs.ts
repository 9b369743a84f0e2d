import { finishOwedRows } from "../../../../shared/revocation/owed-cutoff-queue.ts";
import {
  clearOwedMemberCutoffs,
  OWED_MEMBER_CUTOFFS,
  type OwedMemberCutoff,
  owedMemberCutoffsFor,
} from "../../../../shared/revocation/owed-member-cutoffs.ts";
import { recordSubjectCutoffs } from "../../../../shared/revocation/subject-cutoffs.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";

/**
 * Records owed member cut-offs (shared/revocation/owed-member-cutoffs.ts) in
 * the org's Durable Object, then clears their rows. 503
 * `temporarily_unavailable` if one cannot be recorded, and its row stays. A
 * row that cannot be cleared once its revocation is recorded only means the
 * revocation is recorded again later (harmless twice), so that is logged,
 * not refused.
 */
export async function settleMemberCutoffs(
  env: TokenEnv,
  owed: readonly OwedMemberCutoff[],
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  for (const row of owed) {
    await recordOperatorRevocation(
      env,
      { orgId: row.orgId, kind: "subject", value: row.userId, reason: row.reason },
      waitUntil,
    );
    try {
      await clearOwedMemberCutoffs(env.DB, [row.id]);
    } catch (error) {
      console.error("owed member cut-off recorded but not cleared", row.orgId, error);
    }
  }
}

/**
 * Records every cut-off still owed for one person in one org: before a
 * change of the membership reads it, so no answer about it, a retry's
 * included, comes before an earlier change's cut-off is recorded. Answers
 * the oldest one settled, for the retry's answer; undefined if none was owed.
 */
export async function settleMemberCutoffsFor(
  env: TokenEnv,
  orgId: string,
  userId: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<OwedMemberCutoff | undefined> {
  const owed = await owedMemberCutoffsFor(env.DB, orgId, userId);
  await settleMemberCutoffs(env, owed, waitUntil);
  return owed[0];
}

/**
 * The cron's part (workers/token/src/scheduled.ts): a change whose second
 * cut-off could not be recorded answered 503 with the change written (from
 * the admin API, Better Auth's organization endpoints or a SCIM Group
 * write), and no retry may ever come. Until it is recorded, tokens minted while the change
 * was being written (their `iat` after the first cut-off) still name the old
 * membership; so the cron records it, within about one cron period of the
 * org's object answering again. Only rows past their grace
 * (OWED_ROW_GRACE_MS): a leave's row is written before its delete, and
 * recorded before the delete it would not cover it.
 *
 * A run's rows are recorded with one call to each org's object
 * (recordSubjectCutoffs), not one per row: a SCIM Group write that could
 * not record its cut-offs owes one row per member, so a run was up to 50
 * calls to the same object. One event per row, each with its own reason
 * (the audit names why), a person owing two recorded twice (harmless).
 * Clearing the recorded and postponing the refused is the queue's
 * (shared/revocation/owed-cutoff-queue.ts).
 */
export function finishOwedMemberCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  return finishOwedRows(env.DB, OWED_MEMBER_CUTOFFS, (orgId, rows) =>
    recordSubjectCutoffs(
      env,
      orgId,
      rows.map(({ userId, reason }) => ({ userId, reason })),
      { waitUntil },
    ),
  );
}
