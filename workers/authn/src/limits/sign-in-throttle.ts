import { and, eq, gt, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SIGN_IN_THROTTLE_POLICY } from "../../../../shared/contracts/sign-in-throttle.ts";
import { signInLockout, signInThrottle } from "../../../../shared/db/schema.ts";

/**
 * Account lockout that slows a guesser but cannot lock the owner out
 * (ASVS 5.0 V6.3.1, NIST SP 800-63B §5.2.2): failed password sign-ins are
 * counted per account (the keyed hash of the email, limits/account-key.ts;
 * counted whether or not the account exists, so the delay says nothing about
 * existence) and per client address. Past the free failures of a key, every
 * further failure doubles that key's wait before the next try (2 s, 4 s, …
 * up to MAX_DELAY_SECONDS); a run of failures older than WINDOW_SECONDS
 * starts over, and a successful sign-in clears the account's count (never
 * the address's, or one valid account would launder an address's guesses).
 * The delay never locks the owner out: they get an unlock link by mail
 * when their account starts being slowed (limits/unlock-sign-in.ts), which
 * clears the account's count.
 *
 * The counters are D1 rows changed by one atomic upsert each (strongly
 * consistent; never KV). The Workers rate limiters (limits/credential-limits.ts)
 * still cap the raw rate in front of this.
 *
 * The delay alone still allowed about 550 guesses per account a day (its
 * run starts over every hour), past the cap of NIST SP 800-63B §5.2.2
 * (rev 3) / 800-63B-4 §3.2.2: no more than 100 consecutive failed attempts
 * on one account. So each account also has a count of consecutive failures
 * that time never resets (`sign_in_lockout`); only a successful sign-in, a
 * completed password reset or the owner's account unlock link, asked for by
 * mail and good once (limits/account-unlock.ts), deletes it (the delay's
 * unlock link does not: it is mailed unasked and works for its whole life).
 * From SIGN_IN_LOCKOUT_POLICY.maxConsecutiveFailures on, password sign-in for
 * the account is refused (`account_locked`), its unlock cookie
 * notwithstanding, until an unlock or a reset. Counted by the keyed hash,
 * so an unknown address locks exactly like a known one.
 */
export const SIGN_IN_LOCKOUT_POLICY = { maxConsecutiveFailures: 100 } as const;
export { SIGN_IN_THROTTLE_POLICY };

export type ThrottleKey = { kind: "account" | "address"; key: string };

export function accountThrottleKey(accountHash: string): ThrottleKey {
  return { kind: "account", key: `account:${accountHash}` };
}

export function addressThrottleKey(clientAddress: string): ThrottleKey {
  return { kind: "address", key: `address:${clientAddress}` };
}

/** Seconds to wait after the `failures`-th failure in a run. */
export function delayAfter(failures: number, free: number): number {
  if (failures <= free) return 0;
  return Math.min(SIGN_IN_THROTTLE_POLICY.maxDelaySeconds, 2 ** Math.min(failures - free, 16));
}

function freeFailures(kind: ThrottleKey["kind"]): number {
  return kind === "account"
    ? SIGN_IN_THROTTLE_POLICY.freeFailuresPerAccount
    : SIGN_IN_THROTTLE_POLICY.freeFailuresPerAddress;
}

/**
 * `locked`: the account reached the consecutive-failure cap; `failuresSeen`:
 * it has a count to clear on success.
 */
type Lockout = { locked: boolean; failuresSeen: boolean };

export type ThrottleVerdict = Lockout &
  (
    | { delayed: false; accountSeen: boolean }
    | { delayed: true; by: ThrottleKey["kind"]; retryAfterSeconds: number; accountSeen: boolean }
  );

/**
 * One round trip for both keys and the account's consecutive failures: is
 * either still waiting, is the account locked? `lockoutAccount` is read even
 * when the account's delay is lifted for this browser (its unlock cookie).
 */
export async function checkSignInThrottle(
  db: D1Database,
  keys: ThrottleKey[],
  lockoutAccount?: string,
  now = Date.now(),
): Promise<ThrottleVerdict> {
  const d1 = drizzle(db);
  const windowStart = new Date(now - SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000);
  const [rows, lockout] = await d1.batch([
    d1
      .select()
      .from(signInThrottle)
      .where(
        and(
          inArray(
            signInThrottle.key,
            keys.map((k) => k.key),
          ),
          gt(signInThrottle.firstFailureAt, windowStart),
        ),
      ),
    d1
      .select({ failures: signInLockout.consecutiveFailures })
      .from(signInLockout)
      .where(eq(signInLockout.accountKey, lockoutAccount ?? "")),
  ]);
  const consecutive = lockoutAccount === undefined ? 0 : (lockout[0]?.failures ?? 0);
  const lockoutState: Lockout = {
    locked: consecutive >= SIGN_IN_LOCKOUT_POLICY.maxConsecutiveFailures,
    failuresSeen: consecutive > 0,
  };
  const accountSeen = rows.some((row) => row.key.startsWith("account:"));
  let verdict: ThrottleVerdict = { delayed: false, accountSeen, ...lockoutState };
  for (const row of rows) {
    const waitMs = row.blockedUntil.getTime() - now;
    if (waitMs <= 0) continue;
    const retryAfterSeconds = Math.ceil(waitMs / 1000);
    if (!verdict.delayed || retryAfterSeconds > verdict.retryAfterSeconds) {
      verdict = {
        delayed: true,
        by: row.key.startsWith("account:") ? "account" : "address",
        retryAfterSeconds,
        accountSeen,
        ...lockoutState,
      };
    }
  }
  return verdict;
}

/**
 * Counts one failure against each key and sets its wait, for every key in
 * one D1 batch (one round trip and one transaction, where it was an upsert
 * and then possibly an update per key, one after another): the upsert adds
 * one to the run atomically (`failures + 1`, or 1 when the run is older
 * than the window) and in the same statement moves `blocked_until` to the
 * wait `delayAfter` gives for that new count. SQLite evaluates every SET
 * expression against the row as it was, so the new count is written out in
 * each. Returns each key's count in the current run.
 *
 * With `lockoutAccount`, the same batch adds one to the account's
 * consecutive failures in one upsert … RETURNING (one statement, so
 * concurrent failures each add exactly one) and returns it as `consecutive`.
 */
export async function recordSignInFailure(
  db: D1Database,
  keys: ThrottleKey[],
  now = Date.now(),
  lockoutAccount?: string,
): Promise<Map<ThrottleKey["kind"] | "consecutive", number>> {
  const d1 = drizzle(db);
  const windowStart = now - SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000;
  const upserts = keys.map(({ kind, key }) => {
    const free = freeFailures(kind);
    const failures = sql`(CASE WHEN ${signInThrottle.firstFailureAt} <= ${windowStart} THEN 1 ELSE ${signInThrottle.failures} + 1 END)`;
    // delayAfter() in SQL: past the free failures, 2^(failures - free) s, at most maxDelaySeconds.
    const waitMs = sql`MIN(${SIGN_IN_THROTTLE_POLICY.maxDelaySeconds}, 1 << MIN(${failures} - ${free}, 16)) * 1000`;
    return d1
      .insert(signInThrottle)
      .values({
        key,
        failures: 1,
        firstFailureAt: new Date(now),
        blockedUntil: new Date(now + delayAfter(1, free) * 1000),
      })
      .onConflictDoUpdate({
        target: signInThrottle.key,
        set: {
          failures,
          firstFailureAt: sql`CASE WHEN ${signInThrottle.firstFailureAt} <= ${windowStart} THEN ${now} ELSE ${signInThrottle.firstFailureAt} END`,
          blockedUntil: sql`CASE WHEN ${failures} > ${free} THEN MAX(${signInThrottle.blockedUntil}, ${now} + ${waitMs}) ELSE ${signInThrottle.blockedUntil} END`,
        },
      })
      .returning({ failures: signInThrottle.failures });
  });
  const lockout =
    lockoutAccount === undefined
      ? []
      : [
          d1
            .insert(signInLockout)
            .values({ accountKey: lockoutAccount, consecutiveFailures: 1, lastFailureAt: new Date(now) })
            .onConflictDoUpdate({
              target: signInLockout.accountKey,
              set: {
                consecutiveFailures: sql`${signInLockout.consecutiveFailures} + 1`,
                lastFailureAt: new Date(now),
              },
            })
            .returning({ failures: signInLockout.consecutiveFailures }),
        ];
  const counts = new Map<ThrottleKey["kind"] | "consecutive", number>();
  const [first, ...rest] = [...upserts, ...lockout];
  if (!first) return counts;
  const rows = await d1.batch([first, ...rest]);
  keys.forEach(({ kind }, i) => {
    counts.set(kind, rows[i]?.[0]?.failures ?? 1);
  });
  if (lockoutAccount !== undefined) counts.set("consecutive", rows[keys.length]?.[0]?.failures ?? 1);
  return counts;
}

/** A successful sign-in or a completed password reset: the account's consecutive failures start over. */
export async function clearAccountLockout(db: D1Database, accountHash: string): Promise<void> {
  await drizzle(db).delete(signInLockout).where(eq(signInLockout.accountKey, accountHash));
}

/** A successful sign-in, or the owner's unlock link: the account starts with a clean slate. */
export async function clearAccountThrottle(db: D1Database, accountHash: string): Promise<void> {
  await drizzle(db)
    .delete(signInThrottle)
    .where(sql`${signInThrottle.key} = ${accountThrottleKey(accountHash).key}`);
}

/** Whether this failure is the one that first slowed the account in its run (the moment to mail an unlock link). */
export function accountJustSlowed(counts: Map<ThrottleKey["kind"] | "consecutive", number>): boolean {
  return counts.get("account") === SIGN_IN_THROTTLE_POLICY.freeFailuresPerAccount + 1;
}
