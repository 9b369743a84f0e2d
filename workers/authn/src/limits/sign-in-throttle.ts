import { and, gt, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { signInThrottle } from "../../../../shared/db/schema.ts";

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
 * Nothing is ever locked for good: the owner gets an unlock link by mail
 * when their account starts being slowed (limits/unlock-sign-in.ts), which
 * clears the account's count.
 *
 * The counters are D1 rows changed by one atomic upsert each (strongly
 * consistent; never KV). The Workers rate limiters (limits/credential-limits.ts)
 * still cap the raw rate in front of this.
 */
export const SIGN_IN_THROTTLE_POLICY = {
  freeFailuresPerAccount: 5,
  freeFailuresPerAddress: 20,
  maxDelaySeconds: 300,
  windowSeconds: 60 * 60,
} as const;

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

export type ThrottleVerdict =
  | { delayed: false; accountSeen: boolean }
  | { delayed: true; by: ThrottleKey["kind"]; retryAfterSeconds: number; accountSeen: boolean };

/** One read for both keys: is either still waiting? */
export async function checkSignInThrottle(
  db: D1Database,
  keys: ThrottleKey[],
  now = Date.now(),
): Promise<ThrottleVerdict> {
  const windowStart = new Date(now - SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000);
  const rows = await drizzle(db)
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
    )
    .all();
  const accountSeen = rows.some((row) => row.key.startsWith("account:"));
  let verdict: ThrottleVerdict = { delayed: false, accountSeen };
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
 */
export async function recordSignInFailure(
  db: D1Database,
  keys: ThrottleKey[],
  now = Date.now(),
): Promise<Map<ThrottleKey["kind"], number>> {
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
  const counts = new Map<ThrottleKey["kind"], number>();
  const [first, ...rest] = upserts;
  if (!first) return counts;
  const rows = await d1.batch([first, ...rest]);
  keys.forEach(({ kind }, i) => {
    counts.set(kind, rows[i]?.[0]?.failures ?? 1);
  });
  return counts;
}

/** A successful sign-in, or the owner's unlock link: the account starts with a clean slate. */
export async function clearAccountThrottle(db: D1Database, accountHash: string): Promise<void> {
  await drizzle(db)
    .delete(signInThrottle)
    .where(sql`${signInThrottle.key} = ${accountThrottleKey(accountHash).key}`);
}

/** Whether this failure is the one that first slowed the account in its run (the moment to mail an unlock link). */
export function accountJustSlowed(counts: Map<ThrottleKey["kind"], number>): boolean {
  return counts.get("account") === SIGN_IN_THROTTLE_POLICY.freeFailuresPerAccount + 1;
}
