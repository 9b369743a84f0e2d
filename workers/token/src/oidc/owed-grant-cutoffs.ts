import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { finishOwedRows, oneByOne } from "../../../../shared/revocation/owed-cutoff-queue.ts";
import {
  OWED_GRANT_CUTOFFS,
  type OwedGrantCutoff,
  owedGrantCutoffsOf,
} from "../../../../shared/revocation/owed-grant-cutoffs.ts";
import { recordOwedGrantCutoff } from "./grant-cutoff.ts";

/**
 * The cron's part (workers/token/src/scheduled.ts) for browser grants
 * (shared/revocation/owed-grant-cutoffs.ts): a revocation answered 503 may
 * never be retried, and a reused refresh token's or replayed code's
 * refusal stands whatever was recorded. Until the `grant` entry is
 * recorded the grant's JWT access tokens pass; so the cron records it,
 * within one cron period of the org's object answering again. Only rows
 * past their in-flight window (a minute: the revocation that wrote one may
 * still withdraw it). Clearing the recorded and postponing the refused is
 * the queue's (shared/revocation/owed-cutoff-queue.ts).
 */
export function finishOwedGrantCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  return finishOwedRows(
    env.DB,
    OWED_GRANT_CUTOFFS,
    // recordOwedGrantCutoff logs a failure before it throws.
    oneByOne((row) => recordOwedGrantCutoff(env, row, waitUntil)),
  );
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
