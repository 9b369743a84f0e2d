import { finishOwedRows, oneByOne } from "../../../../shared/revocation/owed-cutoff-queue.ts";
import { OWED_ORG_CUTOFFS } from "../../../../shared/revocation/owed-org-cutoffs.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";

/**
 * The cron's part (workers/token/src/scheduled.ts) for org deletions
 * (shared/revocation/owed-org-cutoffs.ts): a deletion whose second `org`
 * cut-off could not be recorded answered with the org deleted (Better
 * Auth's 503, or the admin API's 200 `cutoff: "owed"`, which no retry is
 * answered from), and no retry may ever come (the org is gone from the
 * person's pages). Until it is recorded, tokens minted while the delete
 * was in flight (their `iat` after the first cut-off) still pass; so the
 * cron records it, within one cron period of the org's object answering
 * again. Each row is its own `org` cut-off, recorded one after another;
 * clearing the recorded and postponing the refused is the queue's
 * (shared/revocation/owed-cutoff-queue.ts).
 */
export function finishOwedOrgCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  return finishOwedRows(
    env.DB,
    OWED_ORG_CUTOFFS,
    // recordOperatorRevocation logs a failure before it throws.
    oneByOne((row) =>
      recordOperatorRevocation(env, { orgId: row.orgId, kind: "org", value: row.orgId, reason: row.reason }, waitUntil),
    ),
  );
}
