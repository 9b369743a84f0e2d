import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { user } from "../../../../shared/db/schema.ts";
import type { AuthnConfig } from "../config.ts";
import { type MailEnv, mailSender } from "../email/mail-sender.ts";
import { unlockSignInMessage } from "../email/templates.ts";
import { accountHash, normaliseEmail } from "./account-key.ts";
import type { CredentialAttempt } from "./credential-limits.ts";
import {
  accountJustSlowed,
  accountThrottleKey,
  addressThrottleKey,
  checkSignInThrottle,
  clearAccountLockout,
  clearAccountThrottle,
  recordSignInFailure,
  type ThrottleKey,
  type ThrottleVerdict,
} from "./sign-in-throttle.ts";
import { createUnlockToken, UNLOCK_LINK_TTL_SECONDS } from "./unlock-sign-in.ts";

/**
 * The progressive delay around one password sign-in, for the API and the
 * page alike (limits/sign-in-throttle.ts has the policy): `before` says
 * whether the attempt must wait; `after` counts a wrong password (before
 * the answer goes out, so the next guess sees it), clears the account's
 * count on success, and mails the owner an unlock link the moment their
 * account starts being slowed.
 */
export type SignInGuardEnv = MailEnv & { DB: D1Database };

function keys(attempt: CredentialAttempt): ThrottleKey[] {
  const list = [addressThrottleKey(attempt.clientAddress)];
  if (attempt.account) list.push(accountThrottleKey(attempt.account));
  return list;
}

/** The owner's browser with its unlock cookie waits only on its address (limits/unlock-sign-in.ts). */
export function signInDelay(env: SignInGuardEnv, attempt: CredentialAttempt): Promise<ThrottleVerdict> {
  const waitingOn = attempt.unlocked ? keys(attempt).filter((key) => key.kind === "address") : keys(attempt);
  return checkSignInThrottle(env.DB, waitingOn, attempt.account);
}

export async function afterSignIn(
  env: SignInGuardEnv,
  config: AuthnConfig,
  outcome: { attempt: CredentialAttempt; verdict: ThrottleVerdict; email: string | undefined; status: number },
  background: (work: Promise<unknown>) => void,
): Promise<void> {
  const { attempt, verdict, email, status } = outcome;
  if (status === 200) {
    if (attempt.account && verdict.accountSeen) await clearAccountThrottle(env.DB, attempt.account);
    if (attempt.account && verdict.failuresSeen) await clearAccountLockout(env.DB, attempt.account);
    return;
  }
  // 401 is a wrong email or password; anything else (unverified address,
  // malformed request) checked no password worth counting.
  if (status !== 401) return;
  const counts = await recordSignInFailure(env.DB, keys(attempt), Date.now(), attempt.account);
  if (attempt.account && email && accountJustSlowed(counts)) {
    background(mailUnlockLink(env, config, attempt.account, email));
  }
}

/** Only to an address with an account: the mail goes out after the answer, so the answer is the same either way. */
async function mailUnlockLink(env: SignInGuardEnv, config: AuthnConfig, accountHash: string, email: string) {
  try {
    const owner = await drizzle(env.DB)
      .select({ email: user.email })
      .from(user)
      .where(eq(user.email, normaliseEmail(email)))
      .get();
    if (!owner) return;
    const token = await createUnlockToken(config.betterAuthSecret, accountHash);
    const link = `${config.issuer}${ENDPOINT.unlockSignIn}?token=${encodeURIComponent(token)}`;
    await mailSender(env, config).send(unlockSignInMessage(owner.email, link, UNLOCK_LINK_TTL_SECONDS / 60));
  } catch (error) {
    console.error("unlock mail not sent", error instanceof Error ? error.message : "unknown");
  }
}

/**
 * A completed password reset proves the mailbox and replaces the password:
 * the account's consecutive failures and its delay start over.
 */
export async function clearOnPasswordReset(db: D1Database, secret: string, email: string): Promise<void> {
  const account = await accountHash(secret, email);
  await Promise.all([clearAccountLockout(db, account), clearAccountThrottle(db, account)]);
}

/** What an attempt on a locked account is told: the same whether or not the account exists. */
export const SIGN_IN_LOCKED =
  "Too many failed sign-ins to this account. To sign in again, ask for an unlock link (Locked out?) or reset your password (Forgot your password?).";

/** What a delayed attempt is told: the same whether or not the account exists. */
export const SIGN_IN_DELAYED =
  "Too many failed sign-ins. Wait a little before trying again; if this is your account, we emailed you a link to sign in without waiting.";
