import { checkLimits } from "../../../../shared/rate-limit/check-limits.ts";
import { clientAddressKey } from "../../../../shared/rate-limit/client-address.ts";
import { type AuthnConfig, CREDENTIAL_LIMIT_PERIOD_SECONDS } from "../config.ts";
import { accountHash } from "./account-key.ts";
import { unlockedByCookie } from "./unlock-sign-in.ts";

/**
 * Password attempts — sign-in, sign-up and Better Auth's other password
 * checks, from the pages and from /api/auth/* alike, under the same keys so
 * they share one budget — are limited per client address (`cf-connecting-ip`,
 * an IPv6 client by its /64) and per account (the keyed hash of the
 * normalised email), on the Workers rate-limiting binding: the counters live
 * outside any isolate, so a client cannot spread its attempts over isolates.
 * Limits and period: wrangler.toml `[[ratelimits]]`.
 *
 * The address is asked first and the account only when the address is still
 * within its limit, so one noisy address spends its own budget, not its
 * victim's: it cannot keep a person's account at its limit from one place.
 */
export type CredentialLimitEnv = Pick<AuthnEnv, "CREDENTIAL_ADDRESS_LIMITER" | "CREDENTIAL_ACCOUNT_LIMITER">;

export interface CredentialAttempt {
  /** The limiter key of the client address (shared/rate-limit/client-address.ts). */
  clientAddress: string;
  /** The account's keyed hash, when the request names one. */
  account: string | undefined;
  /** The browser holds its owner's unlock cookie for this account (limits/unlock-sign-in.ts): the account's own limits do not apply. */
  unlocked: boolean;
}

/**
 * Whose per-account budget an attempt spends: the one every password check
 * shares, or one of its own. Asking for an unlock link has its own, so a
 * guesser who keeps a locked account's sign-in budget spent cannot also
 * keep its owner from asking for the link (limits/account-unlock.ts).
 */
export type AccountBudget = "account" | "unlock-request";

export type CredentialVerdict =
  | { limited: false; attempt: CredentialAttempt }
  | { limited: true; attempt: CredentialAttempt; by: "address" | "account"; retryAfterSeconds: number };

export async function checkCredentialAttempt(
  env: CredentialLimitEnv,
  config: Pick<AuthnConfig, "betterAuthSecret" | "issuer">,
  headers: Headers,
  email: string | undefined,
  budget: AccountBudget = "account",
): Promise<CredentialVerdict> {
  return checkCredentialLimits(env, await credentialAttempt(config, headers, email), budget);
}

/** Who attempts, at which account: no limiter is asked yet. */
export async function credentialAttempt(
  config: Pick<AuthnConfig, "betterAuthSecret" | "issuer">,
  headers: Headers,
  email: string | undefined,
): Promise<CredentialAttempt> {
  const account = email ? await accountHash(config.betterAuthSecret, email) : undefined;
  return {
    clientAddress: clientAddressKey(headers),
    account,
    unlocked: account !== undefined && (await unlockedByCookie(headers, config, account)),
  };
}

/** Counts the attempt on the limiters, the address first (see above). */
export async function checkCredentialLimits(
  env: CredentialLimitEnv,
  attempt: CredentialAttempt,
  budget: AccountBudget = "account",
): Promise<CredentialVerdict> {
  const periodSeconds = CREDENTIAL_LIMIT_PERIOD_SECONDS;
  const byAddress = await checkLimits([
    { limiter: env.CREDENTIAL_ADDRESS_LIMITER, key: attempt.clientAddress, periodSeconds },
  ]);
  if (byAddress.limited) {
    return { limited: true, attempt, by: "address", retryAfterSeconds: byAddress.retryAfterSeconds };
  }
  if (attempt.account && !attempt.unlocked) {
    const byAccount = await checkLimits([
      { limiter: env.CREDENTIAL_ACCOUNT_LIMITER, key: `${budget}:${attempt.account}`, periodSeconds },
    ]);
    if (byAccount.limited) {
      return { limited: true, attempt, by: "account", retryAfterSeconds: byAccount.retryAfterSeconds };
    }
  }
  return { limited: false, attempt };
}

/** RFC 9110 §10.2.3 / RFC 6585 §4. */
export function retryAfterHeader(verdict: { retryAfterSeconds: number }): Record<string, string> {
  return { "Retry-After": String(verdict.retryAfterSeconds) };
}
