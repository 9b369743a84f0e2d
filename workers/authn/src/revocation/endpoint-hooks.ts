/**
 * Better Auth endpoint hooks (`hooks.before` / `hooks.after`) for the
 * endpoints whose revocations the database and organization hooks cannot
 * guarantee on their own:
 *
 * - `/sign-out` catches and logs any error from deleting the session and
 *   answers 200 regardless (better-auth/dist/api/routes/sign-out.mjs), so a
 *   revocation the session delete hooks could not record would still read
 *   as a successful sign-out. The before hook notes which session is being
 *   signed out; the after hook checks that it is gone and that none of its
 *   (session, org) rows is left unrevoked (recording any that are), and
 *   otherwise turns the answer into `503 REVOCATION_NOT_RECORDED`. The
 *   callers drop the answer's cookie deletion then (api/better-auth-api.ts,
 *   forms/credentials.ts), so the person can sign out again.
 * - `/organization/leave` deletes the membership without the organization
 *   hooks, so it gets the before/after pair of membership-revocation.ts here,
 *   and a leaving owner steps down first through the conditional write that
 *   keeps the org an owner (auth/last-owner.ts).
 * - `/organization/delete`, retried after a 503 that left the org deleted
 *   and its second `org` cut-off owed (org-deletion.ts): Better Auth would
 *   answer it for an org that is gone (400, not a member), so the before
 *   hook records the owed cut-off of the caller's own deletion and answers
 *   the 200 that deletion would have (unsetting the org as the session's
 *   active one, which Better Auth does only after its own delete), or `503
 *   REVOCATION_NOT_RECORDED` while it still cannot be recorded. Anyone
 *   else's request goes on to Better Auth untouched, whatever is owed.
 * - `/change-password` with `revokeOtherSessions` ends the sessions through
 *   the session hooks, but the person's OAuth tokens are no session's: the
 *   after hook revokes them (security/change-password-oauth.ts).
 * - `/revoke-sessions` and `/revoke-other-sessions` likewise: the after hook
 *   revokes the person's OAuth tokens, or answers `503
 *   REVOCATION_NOT_RECORDED` (sign-out-everywhere-oauth.ts).
 */
import { createAuthMiddleware } from "better-auth/api";
import { stepDownBeforeLeaving } from "../auth/last-owner.ts";
import { CHANGE_PASSWORD, revokeOAuthOnPasswordChange } from "../security/change-password-oauth.ts";
import {
  clearOwedMemberCutoffs,
  MEMBER_LEFT,
  type OwedMemberCutoff,
  oweMemberCutoff,
  owedMemberCutoff,
} from "../../../../shared/revocation/owed-member-cutoffs.ts";
import {
  type MembershipRevocationEnv,
  memberRole,
  revokeMemberTokens,
  settleMemberTokens,
} from "./membership-revocation.ts";
import { settleOwnOrgDeletion } from "./org-deletion.ts";
import { revocationNotRecorded, revocationReason } from "./record-or-refuse.ts";
import { revokeSessionEverywhere, type SessionRevocationEnv, sessionLeftovers } from "./session-revocation.ts";
import { revokeOAuthOnSignOutEverywhere, SIGN_OUT_EVERYWHERE } from "./sign-out-everywhere-oauth.ts";

const SIGN_OUT = "/sign-out";
const LEAVE_ORG = "/organization/leave";
const DELETE_ORG = "/organization/delete";

/** Where the before hook leaves the id of the session being signed out, for the after hook. */
const ENDING_SESSION = "monoAuthEndingSessionId";
/** Where the before hook leaves the id of the cut-off a leave owes, for the after hook. */
const LEAVING_OWED = "monoAuthLeavingOwedCutoffId";

type HookContext = Parameters<Parameters<typeof createAuthMiddleware>[0]>[0];

/** The session named by the request's signed session cookie, if any, expired or not. */
async function cookieSession(ctx: HookContext) {
  const token = await ctx.getSignedCookie(ctx.context.authCookies.sessionToken.name, ctx.context.secret);
  if (!token) return null;
  return ctx.context.internalAdapter.findSession(token);
}

/**
 * The cookie's session only if Better Auth's own session check will accept
 * it: findSession does not look at the expiry, and Better Auth refuses an
 * expired session (401 UNAUTHORIZED) only after the before hooks ran, so an
 * expired cookie's leave had cut the person off and stepped an owner down.
 */
async function liveCookieSession(ctx: HookContext) {
  const found = await cookieSession(ctx);
  return found && new Date(found.session.expiresAt).getTime() > Date.now() ? found : null;
}

/** The cut-off the leave's before hook owed, as it left it on the context. */
function leavingOwed(value: string | undefined): OwedMemberCutoff | undefined {
  return value === undefined ? undefined : (JSON.parse(value) as OwedMemberCutoff);
}

/**
 * The leave's second cut-off, decided by the membership as D1 holds it, not
 * by Better Auth's answer: its leave may delete the row and then fail (on
 * setting the active organization), and a concurrent change of the
 * membership may have settled the before hook's row once the delete
 * landed. So when the membership is gone or changed, a
 * fresh row is owed and settled (a failure leaves it for the cron); when it
 * stands as read, the leave was refused before its delete and nothing is owed.
 */
async function settleLeave(env: MembershipRevocationEnv, owed: OwedMemberCutoff): Promise<void> {
  const role = await memberRole(env, owed.orgId, owed.userId);
  if (role === owed.previousRole) {
    await clearOwedMemberCutoffs(env.DB, [owed.id]);
    return;
  }
  const again = owedMemberCutoff(owed.orgId, owed.userId, owed.reason, owed.previousRole);
  await oweMemberCutoff(env.DB, again, "unconditional").run();
  await settleMemberTokens(env, owed.orgId, owed.userId, owed.reason);
}

/** A value a before hook left on the context for its after hook. */
function leftByBeforeHook(ctx: HookContext, key: string): string | undefined {
  const value = (ctx as unknown as Record<string, unknown>)[key];
  return typeof value === "string" ? value : undefined;
}

export function revocationEndpointHooks(env: SessionRevocationEnv & MembershipRevocationEnv) {
  return {
    before: createAuthMiddleware(async (ctx) => {
      if (ctx.path === SIGN_OUT) {
        const found = await cookieSession(ctx);
        return found ? { context: { [ENDING_SESSION]: found.session.id } } : undefined;
      }
      if (ctx.path === LEAVE_ORG) {
        const found = await liveCookieSession(ctx);
        const orgId = (ctx.body as { organizationId?: unknown } | undefined)?.organizationId;
        // Only a member's own tokens, in an org they are in: anything else
        // is refused by the endpoint and must not write to a foreign org.
        if (!found || typeof orgId !== "string") return;
        const role = await memberRole(env, orgId, found.user.id);
        if (role === undefined) return;
        await revokeMemberTokens(env, orgId, found.user.id, MEMBER_LEFT);
        // After the revocation, as for a removal; an owner steps down first (auth/last-owner.ts).
        await stepDownBeforeLeaving(env.DB, orgId, found.user.id);
        // Better Auth's own delete follows, so the cut-off it owes cannot go in
        // its batch: it is owed from here, and cleared if the leave is refused.
        // Until the delete lands nobody else records it (OWED_ROW_GRACE_MS:
        // the cron waits, a concurrent change skips it while the person is a
        // member), so a request that dies after its delete still leaves it owed.
        const owed = owedMemberCutoff(orgId, found.user.id, MEMBER_LEFT, role);
        await oweMemberCutoff(env.DB, owed, "unconditional").run();
        return { context: { [LEAVING_OWED]: JSON.stringify(owed) } };
      }
      if (ctx.path === DELETE_ORG) {
        const orgId = (ctx.body as { organizationId?: unknown } | undefined)?.organizationId;
        // Signed-in callers only: anyone else gets Better Auth's 401, whatever is owed (the cron records it).
        const found = typeof orgId === "string" ? await liveCookieSession(ctx) : null;
        if (typeof orgId !== "string" || !found) return;
        const settled = await settleOwnOrgDeletion(env, orgId, found.user.id);
        if (!settled) return;
        // Better Auth unsets a deleted org that is the session's active one, but only after its own
        // delete: a first request that failed there (after our batch) left it set, so the retry does.
        if ((found.session as { activeOrganizationId?: string | null }).activeOrganizationId === orgId) {
          await ctx.context.internalAdapter.updateSession(found.session.token, { activeOrganizationId: null });
        }
        // The caller's own deletion, finished now: its answer, as the admin API's member retry answers.
        return ctx.json(settled.answer);
      }
    }),
    after: createAuthMiddleware(async (ctx) => {
      if (ctx.path === SIGN_OUT) {
        const sessionId = leftByBeforeHook(ctx, ENDING_SESSION);
        if (!sessionId) return;
        const left = await sessionLeftovers(env, sessionId);
        if (left.unrevokedOrgs > 0) {
          await revokeSessionEverywhere(env, { id: sessionId }, revocationReason("session-ended", SIGN_OUT), false);
        }
        if (left.sessionExists) throw revocationNotRecorded();
        return;
      }
      if (ctx.path === LEAVE_ORG) {
        const owed = leavingOwed(leftByBeforeHook(ctx, LEAVING_OWED));
        if (owed) await settleLeave(env, owed);
        return;
      }
      if (ctx.path === CHANGE_PASSWORD) {
        await revokeOAuthOnPasswordChange(env.DB, ctx.body, ctx.context.returned);
        return;
      }
      if (SIGN_OUT_EVERYWHERE.has(ctx.path)) {
        await revokeOAuthOnSignOutEverywhere(env.DB, ctx.path, ctx.context.session, ctx.context.returned);
      }
    }),
  };
}
