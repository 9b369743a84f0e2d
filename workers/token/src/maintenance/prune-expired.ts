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
}

/**
 * Deletes D1 rows nothing reads any more and nothing else deletes
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
 */
export async function pruneExpiredRows(db: D1Database, now = Date.now()): Promise<PruneCounts> {
  const [assertions, throttles, accessTokens, refreshTokens, sessionOrgsDated, sessionOrgs] = await db.batch(
    pruneStatements(now).map(({ sql, params }) => db.prepare(sql).bind(...params)),
  );
  return {
    clientAssertions: assertions?.meta.changes ?? 0,
    signInThrottles: throttles?.meta.changes ?? 0,
    accessTokens: accessTokens?.meta.changes ?? 0,
    refreshTokens: refreshTokens?.meta.changes ?? 0,
    sessionOrgsDated: sessionOrgsDated?.meta.changes ?? 0,
    sessionOrgs: sessionOrgs?.meta.changes ?? 0,
  };
}

export interface PruneStatement {
  table: string;
  sql: string;
  params: number[];
}

/**
 * The prune's statements, in the order of PruneCounts, with their
 * parameters for `now`. Each selects by a range on an indexed column
 * (migrations/0022_prune_indexes.sql), so a run reads the rows it deletes,
 * not the table (test/token/prune-query-plan.test.ts holds them to it).
 */
export function pruneStatements(now: number): PruneStatement[] {
  const margin = PRUNE_MARGIN_SECONDS * 1000;
  const assertionCutoff = now - CLOCK_TOLERANCE_SECONDS * 1000 - margin;
  const throttleRunCutoff = now - SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000 - margin;
  const tokenCutoff = now - margin;
  const sessionOrgCutoff = now - (MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000 - margin;
  return [
    {
      table: "oidc_client_assertion",
      sql: `DELETE FROM oidc_client_assertion WHERE rowid IN (
           SELECT rowid FROM oidc_client_assertion WHERE expires_at < ?1 LIMIT ?2)`,
      params: [assertionCutoff, PRUNE_BATCH_ROWS],
    },
    {
      table: "sign_in_throttle",
      sql: `DELETE FROM sign_in_throttle WHERE rowid IN (
           SELECT rowid FROM sign_in_throttle WHERE first_failure_at < ?1 AND blocked_until < ?2 LIMIT ?3)`,
      params: [throttleRunCutoff, tokenCutoff, PRUNE_BATCH_ROWS],
    },
    {
      table: "oidc_access_token",
      sql: `DELETE FROM oidc_access_token WHERE rowid IN (
           SELECT rowid FROM oidc_access_token WHERE expires_at < ?1 LIMIT ?2)`,
      params: [tokenCutoff, PRUNE_BATCH_ROWS],
    },
    {
      table: "oidc_refresh_token",
      sql: `DELETE FROM oidc_refresh_token WHERE rowid IN (
           SELECT r.rowid FROM oidc_refresh_token r
           WHERE r.expires_at < ?1
             AND (r.rotation_replay_expires_at IS NULL OR r.rotation_replay_expires_at < ?1)
             AND NOT EXISTS (
               SELECT 1 FROM oidc_access_token a WHERE a.refresh_id = r.id AND a.expires_at >= ?1)
           LIMIT ?2)`,
      params: [tokenCutoff, PRUNE_BATCH_ROWS],
    },
    {
      table: "session_org",
      sql: `UPDATE session_org SET not_after = ?1 WHERE rowid IN (
           SELECT o.rowid FROM session_org o
           WHERE o.not_after IS NULL
             AND NOT EXISTS (SELECT 1 FROM session s WHERE s.id = o.session_id AND s.expires_at >= ?1)
           LIMIT ?2)`,
      params: [now, PRUNE_BATCH_ROWS],
    },
    {
      table: "session_org",
      sql: `DELETE FROM session_org WHERE rowid IN (
           SELECT o.rowid FROM session_org o
           WHERE o.not_after < ?1
             AND NOT EXISTS (SELECT 1 FROM session s WHERE s.id = o.session_id AND s.expires_at >= ?2)
           LIMIT ?3)`,
      params: [sessionOrgCutoff, now, PRUNE_BATCH_ROWS],
    },
  ];
}

export function prunedAnything(counts: PruneCounts): boolean {
  return Object.values(counts).some((n) => n > 0);
}
