/**
 * Deprovisioning (RFC 7644 §3.6 DELETE, or `active: false`, RFC 7643
 * §4.1.1): the person can start no new session, every session they hold
 * ends, and their tokens in the org are cut off — all recorded before the
 * directory is told it worked.
 *
 * - No new session: a deactivated person gets a `user_ban` row
 *   (shared/db/operator-schema.ts), which the session hook already refuses
 *   every sign-in method with (auth/session-start.ts), and the session
 *   table's trigger a sign-in that raced it (migrations/0014); `banned_by` is
 *   `scim:<org>` so reactivation lifts only the directory's own ban, never a
 *   platform operator's. The row is written in the same D1 batch as
 *   `active = false`; if an operator's ban is there already it stays (and
 *   an operator's unban puts the directory's back: admin/users.ts).
 * - Sessions end through Better Auth's internal adapter, so each ending
 *   runs the session delete hooks (auth/create-auth.ts) and with them the
 *   one session-end revocation, revocation/session-revocation.ts
 *   `revokeSessionEverywhere` (a `session` revocation in every org the
 *   session minted for). A revocation that cannot be recorded fails the
 *   call with 503 and the directory retries; the person stays deactivated.
 *   Each client of each ended session with a `backchannel_logout_uri` gets
 *   an OIDC Back-Channel Logout 1.0 Logout Token, in the background and
 *   best effort (endSessions): no Better Auth hook sends one here.
 * - Tokens not bound to a session (the subject's) are cut off in the org
 *   with revocation/membership-revocation.ts `revokeMemberTokens`.
 * - Their refresh and opaque access tokens at our OpenID Provider are
 *   revoked (shared/revocation/oauth-grant-tokens.ts). A `subject` entry
 *   cuts off only tokens issued up to it, and the provider's refresh grant
 *   asks no session and no ban: a deactivated person's apps kept
 *   refreshing into new access tokens in the org, past every cut-off, for
 *   the refresh token's whole lifetime. Revoked before the `subject` entry
 *   and again at the end, like the sessions: a refresh that read its token
 *   before the first pass and rotated it after is caught by the second, and
 *   the access token it minted (its `iat` before the entry) by the entry.
 *
 * Every step is idempotent, so a retried request converges.
 */
import { waitUntil } from "cloudflare:workers";
import { and, eq, like, type SQL, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { APIError } from "better-auth/api";
import { logJson } from "../../../../shared/observability/log.ts";
import { SCIM_BAN_PREFIX, SCIM_BAN_REASON, scimUser, userBan } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import {
  personSessionClients,
  type SessionClientRow,
  type SessionLogout,
  sendLogoutTokens,
  sessionLogouts,
} from "../../../../shared/oidc/backchannel-logout.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { issuerLogoutSender } from "../oidc/backchannel-logout.ts";
import { revokeMemberTokens } from "../revocation/membership-revocation.ts";
import { REVOCATION_NOT_RECORDED, revocationNotRecorded } from "../revocation/record-or-refuse.ts";
import { revokeOAuthTokens } from "../../../../shared/revocation/oauth-grant-tokens.ts";

/**
 * The ban row (for a batch) that keeps a deactivated person from signing in,
 * written only for a person of the org's directory (their `scim_user` row,
 * earlier in the same batch for a new one) and only while `unchanged` holds
 * (user-store.ts updateUser: the person's row is still as it was read).
 */
export function deactivationBan(db: DrizzleD1Database, orgId: string, userId: string, now: Date, unchanged?: SQL) {
  return db
    .insert(userBan)
    .select(
      db
        .select({
          // In user_ban's column order (drizzle checks it).
          userId: scimUser.userId,
          reason: sql<string>`${SCIM_BAN_REASON}`.as("reason"),
          bannedBy: sql<string>`${`${SCIM_BAN_PREFIX}${orgId}`}`.as("banned_by"),
          bannedAt: sql<Date>`${now.getTime()}`.as("banned_at"),
        })
        .from(scimUser)
        .where(and(eq(scimUser.orgId, orgId), eq(scimUser.userId, userId), unchanged)),
    )
    .onConflictDoNothing();
}

/** Lifts the directory's own ban (for a batch, while `unchanged` holds); a platform operator's ban stays. */
export function liftDeactivationBan(db: DrizzleD1Database, userId: string, unchanged?: SQL) {
  return db
    .delete(userBan)
    .where(and(eq(userBan.userId, userId), like(userBan.bannedBy, `${SCIM_BAN_PREFIX}%`), unchanged));
}

/** Ends every session of the person, their OAuth tokens, and cuts off their tokens in the org; 503 if a revocation is not recorded. */
export function endAccess(env: AuthnEnv, orgId: string, userId: string, reason: string): Promise<void> {
  return orUnavailable(async () => {
    await endSessions(env, userId);
    await endOAuthGrants(env, userId);
    await revokeMemberTokens(env, orgId, userId, reason);
    // A sign-in that read "no ban" just before the ban row landed may insert
    // its session after the first pass read the table: the second pass,
    // after the revocation's round trip, ends it too (the operator ban in
    // workers/token/src/admin/users.ts has the same window, once).
    await endSessions(env, userId);
    await endOAuthGrants(env, userId);
  });
}

/**
 * Ends every session of the person through Better Auth's internal adapter
 * (so the session delete hooks revoke each one) and tells each session's
 * clients by OIDC Back-Channel Logout 1.0, in the background. No endpoint
 * context here, so neither Better Auth's hook nor ours
 * (oidc/backchannel-logout.ts) plans a notice: every client of each session
 * with a `backchannel_logout_uri` is told from here (claimLogouts).
 */
async function endSessions(env: AuthnEnv, userId: string): Promise<void> {
  const logouts = await claimLogouts(env.DB, userId);
  try {
    await (await getAuth(env).$context).internalAdapter.deleteUserSessions(userId);
  } finally {
    // The claimed sessions are over (expired) whether or not the delete's hooks
    // then failed (a revocation not recorded: 503, and the retry deletes them).
    if (logouts.length > 0) waitUntil(sendLogoutTokens(logouts, issuerLogoutSender(env, authnConfig(env).issuer)));
  }
}

/**
 * The sessions of the person this request ends, and whom to tell of each:
 * in one D1 batch (one transaction), every session of theirs not yet
 * claimed is claimed by expiring it (`expires_at` = 0: Better Auth refuses
 * it from then on), and the clients of the person's sessions are read
 * while the rows still name them (shared/oidc/backchannel-logout.ts);
 * only the sessions this batch claimed are kept. Read outside the delete,
 * two deactivations at once (a PATCH and the directory's retry, a PATCH
 * and a DELETE) each read the sessions before either deleted them, and
 * each told every client: a client got two Logout Tokens for one session.
 * Now one of them claims each session, and the other tells nobody of it.
 * A failed read tells nobody and is logged (§2.8: never fails the call).
 */
async function claimLogouts(db: D1Database, userId: string): Promise<SessionLogout[]> {
  try {
    const [claimed, read] = await db.batch([
      db.prepare("UPDATE session SET expires_at = 0 WHERE user_id = ? AND expires_at <> 0 RETURNING id").bind(userId),
      personSessionClients(db, userId),
    ]);
    const ours = new Set(((claimed?.results ?? []) as { id: string }[]).map((row) => row.id));
    const rows = (read?.results ?? []) as SessionClientRow[];
    return sessionLogouts(
      rows.filter((row) => ours.has(row.sessionId)),
      userId,
    );
  } catch (error) {
    const name = error instanceof Error ? error.name : "unknown";
    logJson("error", { event: "backchannel_logout.plan_failed", worker: "authn", error: name });
    return [];
  }
}

/** The person's OAuth tokens at our provider; a failure is REVOCATION_NOT_RECORDED, so the directory retries (503). */
async function endOAuthGrants(env: AuthnEnv, userId: string): Promise<void> {
  try {
    await revokeOAuthTokens(env.DB, userId);
  } catch (error) {
    console.error("SCIM: OAuth tokens not revoked", error);
    throw revocationNotRecorded();
  }
}

/** Deletes the Better Auth user (its accounts, membership and SCIM rows go with it); their access must have ended. */
export function deleteUser(env: AuthnEnv, userId: string): Promise<void> {
  // Through Better Auth, so its user delete hook cuts off their tokens in every org they belong to.
  return orUnavailable(async () => (await getAuth(env).$context).internalAdapter.deleteUser(userId));
}

/** A revocation that could not be recorded (record-or-refuse.ts) is a 503 the directory retries. */
export async function orUnavailable<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof APIError && error.body?.code === REVOCATION_NOT_RECORDED) {
      throw new ScimError("unavailable", "the revocation could not be recorded; try again");
    }
    throw error;
  }
}
