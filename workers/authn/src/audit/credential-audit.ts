import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type AuditSink, recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { user } from "../../../../shared/db/schema.ts";
import { normaliseEmail } from "../limits/account-key.ts";
import type { CredentialAttempt } from "../limits/credential-limits.ts";

/**
 * Audit events for password attempts. Never the password; the account only
 * as its keyed hash (limits/account-key.ts), the client only as its limiter
 * key (an IPv4 address or an IPv6 /64).
 */
export type CredentialAuditEnv = AuditSink & { DB: D1Database };

/**
 * A sign-in that named a wrong email or password. When the email is a
 * person's, the event names them as its subject (someone tried their
 * account); otherwise it is an anonymous refusal, which the audit writer
 * aggregates (shared/audit/record-audit.ts). Runs after the response, in
 * `waitUntil`: the lookup must not make a wrong password for a real account
 * answer slower than one for an unknown email.
 */
export async function auditFailedSignIn(
  env: CredentialAuditEnv,
  failure: { path: string; error: string; email: string; attempt: CredentialAttempt },
): Promise<void> {
  const person = await drizzle(env.DB)
    .select({ id: user.id })
    .from(user)
    .where(eq(user.email, normaliseEmail(failure.email)))
    .get()
    .catch(() => undefined);
  await recordAuditInBackground(env, {
    kind: "auth.sign_in_failed",
    outcome: "refused",
    subject: person?.id ?? null,
    detail: {
      error: failure.error.slice(0, 64),
      path: failure.path,
      account: failure.attempt.account ?? null,
      client_address: failure.attempt.clientAddress,
    },
  });
}

/** An attempt refused by a credential limit, before any password was checked. */
export function auditRateLimited(
  env: AuditSink,
  refusal: { path: string; by: "address" | "account"; attempt: CredentialAttempt },
): Promise<void> {
  return recordAuditInBackground(env, {
    kind: "auth.rate_limited",
    outcome: "refused",
    detail: {
      error: "rate_limited",
      path: refusal.path,
      limiter: refusal.by,
      account: refusal.attempt.account ?? null,
      client_address: refusal.attempt.clientAddress,
    },
  });
}

/**
 * The owner's unlock link lifted an account's consecutive-failure lock and
 * delay (limits/account-unlock.ts): the person as subject, how many failures
 * it cleared, and from where it was opened.
 */
export function auditAccountUnlocked(
  env: AuditSink,
  unlock: { path: string; userId: string; account: string; consecutiveFailures: number; clientAddress: string },
): Promise<void> {
  return recordAuditInBackground(env, {
    kind: "auth.account_unlocked",
    outcome: "recorded",
    subject: unlock.userId,
    detail: {
      path: unlock.path,
      account: unlock.account,
      consecutive_failures: unlock.consecutiveFailures,
      client_address: unlock.clientAddress,
    },
  });
}
