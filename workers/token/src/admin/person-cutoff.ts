import { eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { member, session } from "../../../../shared/db/auth-schema.ts";
import { sessionOrg } from "../../../../shared/db/schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import {
  personSessionClients,
  type SessionClientRow,
  sendLogoutTokens,
  sessionLogouts,
} from "../../../../shared/oidc/backchannel-logout.ts";
import { revokeOAuthTokens } from "../../../../shared/revocation/oauth-grant-tokens.ts";
import { issuerLogoutSender } from "../oidc/issuer-signing.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";
import type { AdminEnv } from "./types.ts";

/** D1's limit on bound parameters in one statement ("too many SQL variables" past it). */
const D1_MAX_BOUND_PARAMETERS = 100;

export interface PersonCutOff {
  /** Every org a `subject` revocation was recorded in, sorted. */
  orgIds: string[];
  sessionsEnded: number;
}

/**
 * Cuts a person off everywhere, for a ban (admin/users.ts) and an
 * operator's sign-out (admin/user-sessions.ts): a `subject` revocation in
 * every org they belong to or a session of theirs minted in (D1
 * `session_org`, written before each token is signed), then every session
 * of theirs ends (its clients told by back-channel logout, endSessions),
 * then their browser OAuth grants' tokens (refresh tokens
 * marked revoked, opaque access tokens deleted: a client signed in at our
 * provider would otherwise keep refreshing for a banned person, and its new
 * access tokens would postdate every cut-off), then the revocations again. Each revocation is recorded
 * before this resolves; one that cannot be is 503 `temporarily_unavailable`
 * (revocations/operator-revoke.ts) and nothing after it runs, so a retry
 * repeats it all (every step is harmless twice).
 *
 * Why twice: an exchange that read a session before it went mints with that
 * moment as `iat` (token mint/mint-access-token.ts), which may fall after
 * the first cut-off but never after the second, and it may have written a
 * `session_org` row for an org the first pass did not know; a browser-flow
 * access token minted from a refresh racing the OAuth step carries the
 * moment its grant arrived as `iat` (docs/revocation.md), before the second.
 */
export async function cutOffPerson(c: Context<AdminEnv>, userId: string, reason: string): Promise<PersonCutOff> {
  const db = drizzle(c.env.DB);
  const [memberships, sessions] = await db.batch([
    db.select({ orgId: member.organizationId }).from(member).where(eq(member.userId, userId)),
    db.select({ id: session.id }).from(session).where(eq(session.userId, userId)),
  ]);
  // D1 binds at most 100 parameters a statement: the ids go in slices, or a
  // person with more than 100 sessions (50 read twice) could not be cut off.
  const mintedIn = async (sessionIds: string[]) => {
    const ids = [...new Set(sessionIds)];
    const slices: string[][] = [];
    for (let i = 0; i < ids.length; i += D1_MAX_BOUND_PARAMETERS)
      slices.push(ids.slice(i, i + D1_MAX_BOUND_PARAMETERS));
    const reads = slices.map((slice) =>
      db.select({ orgId: sessionOrg.orgId }).from(sessionOrg).where(inArray(sessionOrg.sessionId, slice)).all(),
    );
    return (await Promise.all(reads)).flat().map((row) => row.orgId);
  };
  const cutOff = async (orgIds: string[]) => {
    for (const orgId of orgIds) {
      await recordOperatorRevocation(c.env, { orgId, kind: "subject", value: userId, reason }, (p) =>
        c.executionCtx.waitUntil(p),
      );
    }
  };
  const before = uniqueOrgs([...memberships.map((m) => m.orgId), ...(await mintedIn(sessions.map((s) => s.id)))]);
  await cutOff(before);
  // The tokens are cut off; now the sessions go, so none can be exchanged
  // again. Those the delete ended, not those read above: a sign-in between
  // the two (possible unless the person is banned) is ended too, and its
  // orgs are cut off below.
  const endedIds = await endSessions(c, userId);
  await endOAuthTokens(c.env.DB, userId, reason);
  const orgIds = uniqueOrgs([...before, ...(await mintedIn([...sessions.map((s) => s.id), ...endedIds]))]);
  await cutOff(orgIds);
  return { orgIds, sessionsEnded: endedIds.length };
}

/**
 * Deletes every session of the person and, in the background, tells each
 * client of each one by OIDC Back-Channel Logout 1.0. No Better Auth hook
 * runs for a delete here, so every client of the session with a
 * `backchannel_logout_uri` is told, whether the issuer recorded signing it
 * a token naming the session or it holds a token Better Auth stored
 * (shared/oidc/backchannel-logout.ts). Whom to tell is read in the same
 * batch (one transaction) as the delete: before the records cascade away,
 * and of exactly the sessions this delete ended, so a concurrent cut-off
 * tells no client twice. Sending never fails the cut-off (§2.8).
 */
async function endSessions(c: Context<AdminEnv>, userId: string): Promise<string[]> {
  const [held, ended] = (await c.env.DB.batch([
    personSessionClients(c.env.DB, userId),
    c.env.DB.prepare("DELETE FROM session WHERE user_id = ?1 RETURNING id").bind(userId),
  ])) as [D1Result<SessionClientRow>, D1Result<{ id: string }>];
  const endedIds = ended.results.map((row) => row.id);
  const logouts = sessionLogouts(held.results, userId);
  if (logouts.length > 0) c.executionCtx.waitUntil(sendLogoutTokens(logouts, issuerLogoutSender(c.env)));
  return endedIds;
}

function uniqueOrgs(orgIds: string[]): string[] {
  return [...new Set(orgIds)].sort();
}

/** 503 `temporarily_unavailable` if they cannot be ended: never a success that left them working. */
async function endOAuthTokens(db: D1Database, userId: string, reason: string): Promise<void> {
  try {
    await revokeOAuthTokens(db, userId);
  } catch (error) {
    console.error(`OAuth tokens not revoked (${reason})`, error);
    throw new HttpError("temporarily_unavailable", "the OAuth tokens could not be revoked; retry");
  }
}
