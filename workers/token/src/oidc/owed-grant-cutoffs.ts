import { OAuthError } from "../../../../shared/errors/oauth.ts";
import {
  type OwedGrantCutoff,
  oldestOwedGrantCutoffs,
  owedGrantCutoffsOf,
  postponeOwedGrantCutoff,
} from "../../../../shared/revocation/owed-grant-cutoffs.ts";
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

/**
 * What a retried revocation's token still owes (its stored form,
 * `presented`), read before anything else is done with it
 * (oidc/browser-revocation.ts). A D1 failure here is `503
 * temporarily_unavailable`, as when the cut-off itself cannot be recorded,
 * not a 500: nothing was revoked or recorded yet, and the same request
 * retried later finds the row still owed.
 */
export async function owedByRetriedToken(env: Pick<TokenEnv, "DB">, presented: string): Promise<OwedGrantCutoff[]> {
  try {
    return await owedGrantCutoffsOf(env.DB, presented);
  } catch (error) {
    console.error("owed grant cut-offs not read", error);
    throw new OAuthError("temporarily_unavailable", "the revocation could not be recorded; retry");
  }
}
