import { oldestOwedGrantCutoffs, postponeOwedGrantCutoff } from "../../../../shared/revocation/owed-grant-cutoffs.ts";
import { settleOwedGrantCutoff } from "./grant-cutoff.ts";

/** Owed grant cut-offs the cron records per run; the rest wait for the next (five minutes, wrangler.toml). */
const PER_RUN = 50;

/**
 * How old a row must be for the cron to take it: a revocation owes its
 * grant's cut-off before Better Auth answers and withdraws the row when
 * Better Auth refused the client (oidc/browser-revocation.ts), all within
 * its grant's turn (ten seconds at most, grant-turns.ts); the cron leaves
 * it that request's to settle or withdraw.
 */
const IN_FLIGHT_MS = 60_000;

/**
 * The cron's part (workers/token/src/scheduled.ts) for browser grants
 * (shared/revocation/owed-grant-cutoffs.ts): a revocation answered 503 may
 * never be retried, and a reused refresh token's or replayed code's
 * refusal stands whatever was recorded. Until the `grant` entry is
 * recorded the grant's JWT access tokens pass; so the cron records it,
 * within one cron period of the org's object answering again. A row the
 * object refuses goes to the back of the queue, so refused rows never take
 * every slot of a run.
 */
export async function finishOwedGrantCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  const owed = await oldestOwedGrantCutoffs(env.DB, PER_RUN, Date.now() - IN_FLIGHT_MS);
  let finished = 0;
  for (const row of owed) {
    try {
      await settleOwedGrantCutoff(env, row, waitUntil);
      finished++;
    } catch {
      // settleOwedGrantCutoff logged it; the row waits behind the others for a later run or the retry.
      await postponeOwedGrantCutoff(env.DB, row.grantId).catch((error: unknown) => {
        console.error("owed grant cut-off not postponed", row.orgId, error);
      });
    }
  }
  return { finished, owed: owed.length };
}
