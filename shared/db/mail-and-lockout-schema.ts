/**
 * The authn Worker's own tables for mail and sign-in throttling
 * (workers/authn/src/email, workers/authn/src/limits/sign-in-throttle.ts).
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The dev mailbox: mail the authn Worker sent while `MAIL_TRANSPORT` is
 * `dev-mailbox` (local development and tests only), so a developer can read
 * it at ENDPOINT.devMailbox. Never written under any other transport.
 */
export const devMail = sqliteTable(
  "dev_mail",
  {
    id: text("id").primaryKey(),
    recipient: text("recipient").notNull(),
    subject: text("subject").notNull(),
    text: text("text").notNull(),
    /** What the mail is for (email/message.ts MailKind): lets a reader pick the newest of a kind. */
    kind: text("kind").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [index("dev_mail_recipient").on(table.recipient, table.createdAt)],
);

/**
 * Failed sign-ins per key (`account:<keyed hash of the email>` or
 * `address:<client address key>`), for the progressive delay. In D1, not KV:
 * the counter is incremented by one atomic upsert, so parallel guesses
 * cannot race past it.
 */
export const signInThrottle = sqliteTable(
  "sign_in_throttle",
  {
    key: text("key").primaryKey(),
    failures: integer("failures").notNull(),
    /** The first failure of the current run; a run older than the policy's window starts over. */
    firstFailureAt: integer("first_failure_at", { mode: "timestamp_ms" }).notNull(),
    /** No sign-in for this key is tried before this instant. */
    blockedUntil: integer("blocked_until", { mode: "timestamp_ms" }).notNull(),
  },
  // The cron's prune finds finished runs by range on it (workers/token/src/maintenance/prune-expired.ts),
  // not by reading every address a flood of failures left behind.
  (table) => [index("sign_in_throttle_first_failure_idx").on(table.firstFailureAt)],
);

/**
 * Consecutive failed password sign-ins per account (the keyed hash of the
 * email, whether or not the account exists), for the hard cap of NIST SP
 * 800-63B §5.2.2 (rev 3) / 800-63B-4 §3.2.2: unlike `sign_in_throttle`, a
 * run never expires with time; only a successful sign-in or a completed
 * password reset deletes the row. One atomic upsert … RETURNING per failure.
 */
export const signInLockout = sqliteTable("sign_in_lockout", {
  accountKey: text("account_key").primaryKey(),
  consecutiveFailures: integer("consecutive_failures").notNull(),
  lastFailureAt: integer("last_failure_at", { mode: "timestamp_ms" }).notNull(),
});
