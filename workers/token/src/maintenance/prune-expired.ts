import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { SIGN_IN_THROTTLE_POLICY } from "../../../../shared/contracts/sign-in-throttle.ts";

/**
 * Rows deleted per table per run, so one cron invocation stays bounded in
 * time and in D1 writes whatever backlog there is; a backlog drains over
 * successive runs (every five minutes).
 */
export const PRUNE_BATCH_ROWS = 1000;

/**
 * Kept past the point where a row stops mattering, for clock skew between
 * isolates and D1 and for a request that read the row just before it
 * lapsed: one cron period.
 */
export const PRUNE_MARGIN_SECONDS = 300;

export interface PruneCounts {
  clientAssertions: number;
  signInThrottles: number;
  accessTokens: number;
  refreshTokens: number;
  /** `session_org` rows given a `not_after` (left null by a Worker older than migration 0022). */
  sessionOrgsDated: number;
  sessionOrgs: number;
  sessions: number;
  verifications: number;
  invitations: number;
  vaultConnectLinks: number;
  vaultConnectStates: number;
  redeemedCodeGrants: number;
}

/**
 * Deletes D1 rows nothing reads any more and nothing else reliably deletes
 * (docs/storage-schema.md, "How long rows live"). Each statement removes at
 * most PRUNE_BATCH_ROWS rows, chosen by rowid (SQLite builds without
 * DELETE … LIMIT), in one D1 batch.
 *
 * - `oidc_client_assertion`: a used `private_key_jwt` jti, single use until
 *   its `exp` (RFC 7523 §3 rules 4 and 7). Better Auth refuses an assertion
 *   at `exp` with no leeway, so once `expires_at` plus CLOCK_TOLERANCE_SECONDS
 *   and the margin has passed, a replay is refused as expired and the row
 *   guards nothing.
 * - `sign_in_throttle`: a run whose first failure is older than the
 *   throttle's window is ignored by the check and restarted in place by the
 *   next failure (workers/authn/src/limits/sign-in-throttle.ts), so deleting
 *   it changes nothing; a row still blocking (`blocked_until`) stays. The
 *   consecutive-failure lockout is another table, never pruned.
 * - `oidc_access_token`: Better Auth's introspection refuses a row past
 *   `expires_at`.
 * - `oidc_refresh_token`: the refresh grant checks `expires_at` before
 *   `revoked`, so a rotated-away token's row detects a replay (RFC 9700
 *   §4.14.2) only until its own expiry; it goes after that, never earlier.
 *   Its access tokens go with it (foreign key, cascade), so a row is kept
 *   while an access token it issued is still live, and while its rotation
 *   grace answer may still be replayed.
 * - `session_org`: a (session, org) row tells a session's end, and a
 *   person's cut-off, which orgs hold tokens of that session
 *   (docs/revocation.md). No token minted under the row outlives its
 *   `not_after` (sessions/bind-session.ts; a token made from one by
 *   exchange or ID-JAG lives no longer than it), nor its mint plus
 *   MAX_ACCESS_TOKEN_TTL_SECONDS. The row goes once `not_after` plus that
 *   lifetime, the clock tolerance and the margin has passed — every token it
 *   stands for has expired and is refused everywhere, so a revocation it
 *   would have led to could cut off nothing — and only while no session
 *   that is live by its `expires_at` has that id: a live session keeps every
 *   row, so a cut-off or sign-out still reads all its orgs. A mint after the
 *   delete writes the row again before it signs. A row still null (a
 *   Worker older than migration 0022 wrote it) whose session is gone or
 *   expired is dated `now` first: that session mints nothing more, so its
 *   tokens end within the lifetime after `now`; it is pruned on a later run.
 * - `session`: Better Auth refuses a session past `expires_at` (and deletes
 *   it only when it is presented again), and every reader of ours asks for
 *   `expires_at > now`. The row goes 300 s past `expires_at`, and only once
 *   no `session_org` row names it (that prune runs first, in the same batch):
 *   a person's cut-off (admin/person-cutoff.ts) finds the orgs a session of
 *   theirs minted in through the session's id, so the session stays while
 *   its rows do. Deleting it runs no Better Auth hook; none is owed, since
 *   its end revokes only what its `session_org` rows list, and they are gone.
 * - `verification`: Better Auth already deletes every row past
 *   `expires_at`, with no margin, whenever it looks a value up (at most once
 *   a minute per isolate), so the cron deletes nothing it would not, only
 *   later: once `expires_at` plus CLOCK_TOLERANCE_SECONDS and the margin has
 *   passed, and where no lookup comes. Our own values are read only while
 *   live too (`second-factor:`, `totp-used:`, `account-unlock-mailed:`), and
 *   a spent unlock link's guard (`account-unlock-used:`) expires at the
 *   link's `exp`, which its check allows no leeway past, so a replay after
 *   the delete is refused as expired.
 * - `invitation`: a pending invitation past `expires_at` can no longer be
 *   accepted, rejected or resent (Better Auth refuses it, and a new invite
 *   of the address makes a new row); it goes 300 s later. A decided one
 *   (`accepted`, `rejected`, `canceled`) stays: it is the org's only record
 *   of who invited whom.
 * - `vault_connect_link`, `vault_connect_state`: spent by a conditional
 *   DELETE that requires `expires_at` ahead, so an expired row can never be
 *   spent; it goes 300 s past `expires_at` (a new link or flow already
 *   deletes its org's expired ones; this takes the rest, sealed PKCE
 *   verifiers included).
 * - `redeemed_code_grant`: a grant redeemed without a refresh token, read
 *   only by a replay of its code to cut off its access tokens (RFC 6749
 *   §4.1.2); `expires_at` is that access token's `exp`. Once it plus
 *   CLOCK_TOLERANCE_SECONDS and the margin has passed, every verifier
 *   refuses the token as expired, so a cut-off would end nothing.
 */
export async function pruneExpiredRows(db: D1Database, now = Date.now()): Promise<PruneCounts> {
  const statements = pruneStatements(now);
  const results = await db.batch(statements.map(({ sql, params }) => db.prepare(sql).bind(...params)));
  const counts: PruneCounts = {
    clientAssertions: 0,
    signInThrottles: 0,
    accessTokens: 0,
    refreshTokens: 0,
    sessionOrgsDated: 0,
    sessionOrgs: 0,
    sessions: 0,
    verifications: 0,
    invitations: 0,
    vaultConnectLinks: 0,
    vaultConnectStates: 0,
    redeemedCodeGrants: 0,
  };
  statements.forEach(({ counts: key }, i) => {
    counts[key] = results[i]?.meta.changes ?? 0;
  });
  return counts;
}

export interface PruneStatement {
  table: string;
  /** Which of PruneCounts its changes go to. */
  counts: keyof PruneCounts;
  sql: string;
  params: number[];
}

/**
 * The prune's statements, in the order they run (`session_org` before
 * `session`), with their parameters for `now`. Each selects by a range on
 * an indexed column (migrations 0022, 0023 and 0030), so a run reads the rows it deletes,
 * not the table (test/token/prune-query-plan.test.ts holds them to it).
 */
export function pruneStatements(now: number): PruneStatement[] {
  const margin = PRUNE_MARGIN_SECONDS * 1000;
  const toleranceCutoff = now - CLOCK_TOLERANCE_SECONDS * 1000 - margin;
  const throttleRunCutoff = now - SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000 - margin;
  const expiredCutoff = now - margin;
  const sessionOrgCutoff = now - (MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000 - margin;
  return [
    byExpiry("oidc_client_assertion", "clientAssertions", toleranceCutoff),
    {
      table: "sign_in_throttle",
      counts: "signInThrottles",
      sql: `DELETE FROM sign_in_throttle WHERE rowid IN (
           SELECT rowid FROM sign_in_throttle WHERE first_failure_at < ?1 AND blocked_until < ?2 LIMIT ?3)`,
      params: [throttleRunCutoff, expiredCutoff, PRUNE_BATCH_ROWS],
    },
    byExpiry("oidc_access_token", "accessTokens", expiredCutoff),
    {
      table: "oidc_refresh_token",
      counts: "refreshTokens",
      sql: `DELETE FROM oidc_refresh_token WHERE rowid IN (
           SELECT r.rowid FROM oidc_refresh_token r
           WHERE r.expires_at < ?1
             AND (r.rotation_replay_expires_at IS NULL OR r.rotation_replay_expires_at < ?1)
             AND NOT EXISTS (
               SELECT 1 FROM oidc_access_token a WHERE a.refresh_id = r.id AND a.expires_at >= ?1)
           LIMIT ?2)`,
      params: [expiredCutoff, PRUNE_BATCH_ROWS],
    },
    {
      table: "session_org",
      counts: "sessionOrgsDated",
      sql: `UPDATE session_org SET not_after = ?1 WHERE rowid IN (
           SELECT o.rowid FROM session_org o
           WHERE o.not_after IS NULL
             AND NOT EXISTS (SELECT 1 FROM session s WHERE s.id = o.session_id AND s.expires_at >= ?1)
           LIMIT ?2)`,
      params: [now, PRUNE_BATCH_ROWS],
    },
    {
      table: "session_org",
      counts: "sessionOrgs",
      sql: `DELETE FROM session_org WHERE rowid IN (
           SELECT o.rowid FROM session_org o
           WHERE o.not_after < ?1
             AND NOT EXISTS (SELECT 1 FROM session s WHERE s.id = o.session_id AND s.expires_at >= ?2)
           LIMIT ?3)`,
      params: [sessionOrgCutoff, now, PRUNE_BATCH_ROWS],
    },
    {
      table: "session",
      counts: "sessions",
      sql: `DELETE FROM session WHERE rowid IN (
           SELECT s.rowid FROM session s
           WHERE s.expires_at < ?1
             AND NOT EXISTS (SELECT 1 FROM session_org o WHERE o.session_id = s.id)
           LIMIT ?2)`,
      params: [expiredCutoff, PRUNE_BATCH_ROWS],
    },
    byExpiry("verification", "verifications", toleranceCutoff),
    {
      table: "invitation",
      counts: "invitations",
      sql: `DELETE FROM invitation WHERE rowid IN (
           SELECT rowid FROM invitation WHERE status = 'pending' AND expires_at < ?1 LIMIT ?2)`,
      params: [expiredCutoff, PRUNE_BATCH_ROWS],
    },
    byExpiry("vault_connect_link", "vaultConnectLinks", expiredCutoff),
    byExpiry("vault_connect_state", "vaultConnectStates", expiredCutoff),
    byExpiry("redeemed_code_grant", "redeemedCodeGrants", toleranceCutoff),
  ];
}

/** The plain case: a table's rows whose `expires_at` is before `cutoff`, through its expires_at index. */
function byExpiry(table: string, counts: keyof PruneCounts, cutoff: number): PruneStatement {
  return {
    table,
    counts,
    sql: `DELETE FROM ${table} WHERE rowid IN (
           SELECT rowid FROM ${table} WHERE expires_at < ?1 LIMIT ?2)`,
    params: [cutoff, PRUNE_BATCH_ROWS],
  };
}

export function prunedAnything(counts: PruneCounts): boolean {
  return Object.values(counts).some((n) => n > 0);
}
