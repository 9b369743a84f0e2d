import { clearPendingCutoff, owedCutoffs } from "./client-store.ts";
import { revokeClientTokens } from "./revoke-client.ts";

/** Clients finished per cron run: the rest wait for the next (five minutes, wrangler.toml). */
const PER_RUN = 50;

/**
 * Records the cut-offs narrowing client changes still owe and clears their
 * marks (admin/client-narrowing.ts). A change whose cut-off could not be
 * recorded answered 503 with the change written; the next change of that
 * client records it, but an operator may never send one, and until then the
 * old registration's tokens stay valid. The cron finishes it instead, so
 * they are cut off within one cron period of the org's object answering.
 *
 * A cut-off recorded now covers every token issued before the change (it
 * revokes everything issued at or before now), and clearing only the mark
 * this run read leaves a newer change's own mark to its own cut-off.
 */
export async function finishOwedCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  const owed = await owedCutoffs(env.DB, PER_RUN);
  let finished = 0;
  for (const client of owed) {
    try {
      await revokeClientTokens(env, client, "client narrowed", waitUntil);
      await clearPendingCutoff(env.DB, client.clientId, client.pendingCutoff);
      finished++;
    } catch {
      // revokeClientTokens logged it; the mark stays for the next run or the next change.
    }
  }
  return { finished, owed: owed.length };
}
