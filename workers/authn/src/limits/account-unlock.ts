/**
 * The owner's way out of the consecutive-failure lock without a password
 * reset (Okta's "self-service unlock"; limits/sign-in-throttle.ts has the
 * lock). Anyone can lock an account by failing its sign-in 100 times, so
 * its owner must be able to lift the lock with what a guesser lacks: the
 * mailbox. Whoever asks (auth/account-unlock-endpoint.ts, the
 * /unlock-sign-in page) gets the same answer for every address; after the
 * answer, an address whose account has failures on record is mailed a link,
 * at most one a minute (ACCOUNT_UNLOCK_MAIL_INTERVAL_SECONDS).
 *
 * The link is an expiring MAC (security/expiring-mac.ts, a purpose key of
 * its own) over the person's id, the keyed hash of the address it was mailed
 * to and a random id: nothing is stored when it is made. It works once: the
 * redemption claims its random id in one conditional INSERT and, in the same
 * D1 batch (one transaction), deletes the account's consecutive failures and
 * its delay only if that very claim row is there, so of any number of
 * concurrent redemptions exactly one unlocks and the rest are refused as
 * spent. It is bound to the address: once the account's address changes, a
 * link mailed to the old one unlocks nothing. It signs nobody in.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { user } from "../../../../shared/db/schema.ts";
import { base64url, signExpiring, verifyExpiring } from "../security/expiring-mac.ts";
import { accountHash, normaliseEmail } from "./account-key.ts";
import { accountThrottleKey } from "./sign-in-throttle.ts";

const PURPOSE = "mono-auth account unlock v1";
/** A link works once, for this long (as a reset link). */
export const ACCOUNT_UNLOCK_TTL_SECONDS = 15 * 60;
/** One mail per account per this long, however often it is asked for: a mailbox is not a target. */
export const ACCOUNT_UNLOCK_MAIL_INTERVAL_SECONDS = 60;

/**
 * `verification` rows of ours (docs/storage-schema.md): a spent link, until
 * it expires, and the last mail to an account. Better Auth's own sweep
 * deletes them once past `expires_at`, as every verification value.
 */
const usedIdentifier = (jti: string) => `account-unlock-used:${jti}`;
const mailedIdentifier = (account: string) => `account-unlock-mailed:${account}`;

/** `<exp>.<userId>.<account>.<jti>.<mac>`; five parts, which the sign-in unlock token (three) never has. */
export async function createAccountUnlockToken(
  secret: string,
  userId: string,
  email: string,
  now = Date.now(),
): Promise<string> {
  if (userId.includes(".")) throw new Error("a user id with a dot cannot go in an unlock link");
  const account = await accountHash(secret, email);
  const jti = base64url(crypto.getRandomValues(new Uint8Array(16)).buffer);
  const { exp, mac } = await signExpiring(
    secret,
    PURPOSE,
    `${userId}.${account}.${jti}`,
    ACCOUNT_UNLOCK_TTL_SECONDS,
    now,
  );
  return `${exp}.${userId}.${account}.${jti}.${mac}`;
}

export function isAccountUnlockToken(token: string): boolean {
  return token.split(".").length === 5;
}

export type AccountUnlockOutcome =
  | { unlocked: true; userId: string; account: string; consecutiveFailures: number }
  | { unlocked: false; reason: "invalid_link" | "link_used" };

/**
 * Spends the link and clears the account's lock and delay, or says why not:
 * `invalid_link` (forged, altered, expired, its person gone or at another
 * address now) or `link_used`.
 */
export async function redeemAccountUnlock(
  db: D1Database,
  secret: string,
  token: string,
  now = Date.now(),
): Promise<AccountUnlockOutcome> {
  const parts = token.split(".");
  if (parts.length !== 5) return { unlocked: false, reason: "invalid_link" };
  const [exp, userId, account, jti, mac] = parts as [string, string, string, string, string];
  // The MAC first: nothing is read for a link we did not make.
  if (!(await verifyExpiring(secret, PURPOSE, `${userId}.${account}.${jti}`, exp, mac, now))) {
    return { unlocked: false, reason: "invalid_link" };
  }
  const person = await drizzle(db).select({ email: user.email }).from(user).where(eq(user.id, userId)).get();
  if (!person || (await accountHash(secret, person.email)) !== account) {
    return { unlocked: false, reason: "invalid_link" };
  }
  const claim = crypto.randomUUID();
  const claimed = `EXISTS (SELECT 1 FROM verification WHERE id = ?1)`;
  const [insert, lockout] = await db.batch<{ consecutive_failures: number }>([
    db
      .prepare(
        `INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?5
         WHERE NOT EXISTS (SELECT 1 FROM verification WHERE identifier = ?2)`,
      )
      .bind(claim, usedIdentifier(jti), userId, Number(exp) * 1000, now),
    db
      .prepare(`DELETE FROM sign_in_lockout WHERE account_key = ?2 AND ${claimed} RETURNING consecutive_failures`)
      .bind(claim, account),
    db
      .prepare(`DELETE FROM sign_in_throttle WHERE key = ?2 AND ${claimed}`)
      .bind(claim, accountThrottleKey(account).key),
  ]);
  if (insert?.meta.changes !== 1) return { unlocked: false, reason: "link_used" };
  return { unlocked: true, userId, account, consecutiveFailures: lockout?.results[0]?.consecutive_failures ?? 0 };
}

/**
 * After the answer, for every address alike (the lookup runs whether or not
 * anyone has it): a person whose account has failed sign-ins on record, and
 * who was not mailed a link in the last minute, gets one. Returns the mail
 * to send, or undefined.
 */
export async function unlockMailFor(
  db: D1Database,
  secret: string,
  email: string,
  now = Date.now(),
): Promise<{ to: string; token: string } | undefined> {
  const account = await accountHash(secret, email);
  const row = await db
    .prepare(
      `SELECT u.id AS id, u.email AS email, l.consecutive_failures AS failures
         FROM user u LEFT JOIN sign_in_lockout l ON l.account_key = ?2
        WHERE u.email = ?1`,
    )
    .bind(normaliseEmail(email), account)
    .first<{ id: string; email: string; failures: number | null }>();
  if (!row || !row.failures) return undefined;
  const identifier = mailedIdentifier(account);
  const [, claim] = await db.batch([
    db.prepare("DELETE FROM verification WHERE identifier = ?1 AND expires_at <= ?2").bind(identifier, now),
    db
      .prepare(
        `INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?5
         WHERE NOT EXISTS (SELECT 1 FROM verification WHERE identifier = ?2)`,
      )
      .bind(crypto.randomUUID(), identifier, row.id, now + ACCOUNT_UNLOCK_MAIL_INTERVAL_SECONDS * 1000, now),
  ]);
  if (claim?.meta.changes !== 1) return undefined;
  return { to: row.email, token: await createAccountUnlockToken(secret, row.id, row.email, now) };
}
