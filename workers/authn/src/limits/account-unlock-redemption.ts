import { clientAddressKey } from "../../../../shared/rate-limit/client-address.ts";
import { auditAccountUnlocked } from "../audit/credential-audit.ts";
import { authnConfig } from "../config.ts";
import { redeemAccountUnlock } from "./account-unlock.ts";
import { createUnlockToken, unlockCookie } from "./unlock-sign-in.ts";

export type AccountUnlockRedemption =
  | { unlocked: true; unlockCookie: string }
  | { unlocked: false; reason: "invalid_link" | "link_used" };

/**
 * The one redemption of an account unlock link (limits/account-unlock.ts),
 * whoever presents it: the /unlock-sign-in page's POST and the JSON
 * `POST /api/auth/unlock-account` of an API-only client
 * (api/unlock-account.ts) spend it the same way, once, and audit the same
 * `auth.account_unlocked` (with the path it came through). The unlock
 * cookie comes back for the answer, as the delay's link gives one: for a
 * while that client is past the account's own limits (limits/unlock-sign-in.ts).
 * Nobody is signed in.
 */
export async function redeemAccountUnlockLink(
  env: AuthnEnv,
  token: string,
  request: { path: string; headers: Headers; waitUntil: (work: Promise<unknown>) => void },
): Promise<AccountUnlockRedemption> {
  const config = authnConfig(env);
  const outcome = await redeemAccountUnlock(env.DB, config.betterAuthSecret, token);
  if (!outcome.unlocked) return outcome;
  request.waitUntil(
    auditAccountUnlocked(env, {
      path: request.path,
      userId: outcome.userId,
      account: outcome.account,
      consecutiveFailures: outcome.consecutiveFailures,
      clientAddress: clientAddressKey(request.headers),
    }),
  );
  return {
    unlocked: true,
    unlockCookie: unlockCookie(config, await createUnlockToken(config.betterAuthSecret, outcome.account)),
  };
}
