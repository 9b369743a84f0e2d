import {
  clearOwedOrgCutoffs,
  type OwedOrgCutoff,
  oldestOwedOrgCutoffs,
  postponeOwedOrgCutoff,
} from "../../../../shared/revocation/owed-org-cutoffs.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";

/** Owed org cut-offs the cron records per run; the rest wait for the next (five minutes, wrangler.toml). */
const PER_RUN = 50;

/**
 * The cron's part (workers/token/src/scheduled.ts) for org deletions
 * (shared/revocation/owed-org-cutoffs.ts): a deletion whose second `org`
 * cut-off could not be recorded answered 503 with the org deleted, and no
 * retry may ever come (the org is gone from the person's pages). Until it
 * is recorded, tokens minted while the delete was in flight (their `iat`
 * after the first cut-off) still pass; so the cron records it, within one
 * cron period of the org's object answering again. A row the object
 * refuses goes to the back of the queue, so refused rows never take every
 * slot of a run; one whose cut-off is recorded but cannot be cleared is
 * recorded again next run (harmless).
 */
export async function finishOwedOrgCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  const owed = await oldestOwedOrgCutoffs(env.DB, PER_RUN);
  let finished = 0;
  for (const row of owed) {
    if (await settle(env, row, waitUntil)) finished++;
  }
  return { finished, owed: owed.length };
}

async function settle(
  env: TokenEnv,
  row: OwedOrgCutoff,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<boolean> {
  try {
    await recordOperatorRevocation(
      env,
      { orgId: row.orgId, kind: "org", value: row.orgId, reason: row.reason },
      waitUntil,
    );
  } catch {
    // recordOperatorRevocation logged it; the row stays for a later run or the retry, behind the others.
    await postponeOwedOrgCutoff(env.DB, row.id).catch((error: unknown) => {
      console.error("owed org cut-off not postponed", row.orgId, error);
    });
    return false;
  }
  try {
    await clearOwedOrgCutoffs(env.DB, [row.id]);
  } catch (error) {
    console.error("owed org cut-off recorded but not cleared", row.orgId, error);
  }
  return true;
}
