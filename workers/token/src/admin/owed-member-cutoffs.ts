import {
  clearOwedMemberCutoffs,
  type OwedMemberCutoff,
  oldestOwedMemberCutoffs,
  owedMemberCutoffsFor,
  postponeOwedMemberCutoff,
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

/** Owed cut-offs the cron records per run; the rest wait for the next (five minutes, wrangler.toml). */
const PER_RUN = 50;

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
 * (settleOrgRows), not one per row: a SCIM Group write that could not
 * record its cut-offs owes one row per member, so a run was up to 50 calls
 * to the same object. Each row is cleared only once its cut-off is
 * recorded; a row the object refuses (or every row of an org whose object
 * could not be reached) goes to the back of the queue, so refused rows
 * never take every slot of a run, and a refused person does not keep the
 * others of their org from being recorded.
 */
export async function finishOwedMemberCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  const owed = await oldestOwedMemberCutoffs(env.DB, PER_RUN);
  const byOrg = new Map<string, OwedMemberCutoff[]>();
  for (const row of owed) byOrg.set(row.orgId, [...(byOrg.get(row.orgId) ?? []), row]);
  let finished = 0;
  // One org after another: an org whose object fails is logged and postponed, never the others' end.
  for (const [orgId, rows] of byOrg) finished += await settleOrgRows(env, orgId, rows, waitUntil);
  return { finished, owed: owed.length };
}

/** Records one org's rows of a run in one call to its object; how many were recorded. */
async function settleOrgRows(
  env: TokenEnv,
  orgId: string,
  rows: readonly OwedMemberCutoff[],
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<number> {
  // One event per row, each with its own reason (the audit names why), a person owing two recorded twice (harmless).
  const recorded = await recordSubjectCutoffs(
    env,
    orgId,
    rows.map(({ userId, reason }) => ({ userId, reason })),
    { waitUntil },
  );
  const settled = rows.filter((_, i) => recorded[i]);
  await clearOwedMemberCutoffs(
    env.DB,
    settled.map((row) => row.id),
  ).catch((error: unknown) => {
    // Recorded: a row left only means a later run records it once more.
    console.error("owed member cut-offs recorded but not cleared", orgId, error);
  });
  for (const row of rows.filter((_, i) => !recorded[i])) {
    // recordSubjectCutoffs logged why; the row stays for a later run or the retry, behind the others.
    await postponeOwedMemberCutoff(env.DB, row.id).catch((error: unknown) => {
      console.error("owed member cut-off not postponed", orgId, error);
    });
  }
  return settled.length;
}
