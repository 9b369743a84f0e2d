/**
 * Ending a session ends every access token minted from it, in every org.
 *
 * Why `session_org` (shared/db/schema.ts): a session's active organization is
 * the user's to change (set-active to another org, to `null`, or cleared by a
 * refused switch), so "the session's org" at sign-out says nothing about
 * where its tokens were minted. The token Worker therefore writes a
 * (session, org) row before it signs the first token for that pair
 * (workers/token/src/sessions/bind-session.ts), and ending the session
 * records a `session` revocation in every org listed there, plus its active
 * org (tokens minted before the table existed).
 *
 * Why before *and* after the delete: the `before` hook records the
 * revocations while the session still exists, so a failure aborts the delete
 * and the endpoint fails (Better Auth runs it before deleting, and a throw
 * stops it); nothing reports success with live tokens behind it. But a mint
 * can race the sign-out: its row can land after the `before` hook read the
 * table and before the session row is gone. The token Worker writes the row
 * only while the session exists, in one D1 transaction with its read, so any
 * such row exists once the delete has run; the `after` hook reads the table
 * again and records those too, and throws if it cannot.
 *
 * Rows are removed once their revocation is recorded: the revocation entry
 * in the org's Durable Object outlives every token the session could have
 * minted there (shared/contracts/tokens.ts, MAX_ACCESS_TOKEN_TTL_SECONDS).
 *
 * Better Auth runs these hooks for every path that deletes sessions through
 * its internal adapter: sign-out, revoke-session(s), revoke-other-sessions,
 * change-password with revokeOtherSessions, delete-user, expired sessions,
 * and the bulk deletes (`deleteManyWithHooks`, one hook call per session it
 * finds, up to config.ts BETTER_AUTH_FIND_MANY_LIMIT; auth/session-start.ts
 * keeps every person below that).
 */
import { and, count, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { RevocationEvent } from "../../../../shared/contracts/revocation.ts";
import { session, sessionOrg } from "../../../../shared/db/schema.ts";
import type { RevocationBindings } from "../../../../shared/revocation/record-revocation.ts";
import { recordEach, revocationNotRecorded } from "./record-or-refuse.ts";

export type SessionRevocationEnv = RevocationBindings & { DB: D1Database };

export interface EndingSession {
  id: string;
  activeOrganizationId?: string | null;
}

/**
 * Records a `session` revocation in every org the session minted for (and
 * its active org, when `includeActiveOrg`), then removes the rows it
 * recorded. Throws `revocationNotRecorded()` if any org could not be
 * written; the rows of those orgs stay, so a retry finds them.
 */
export async function revokeSessionEverywhere(
  env: SessionRevocationEnv,
  ending: EndingSession,
  reason: string,
  includeActiveOrg: boolean,
): Promise<void> {
  const db = drizzle(env.DB);
  const rows = await db
    .select({ orgId: sessionOrg.orgId })
    .from(sessionOrg)
    .where(eq(sessionOrg.sessionId, ending.id))
    .all();
  const orgs = new Set(rows.map((row) => row.orgId));
  if (includeActiveOrg && ending.activeOrganizationId) orgs.add(ending.activeOrganizationId);
  if (orgs.size === 0) return;

  const events: RevocationEvent[] = [...orgs].map((orgId) => ({ orgId, kind: "session", value: ending.id, reason }));
  const { recorded, allRecorded } = await recordEach(env, events);
  const listed = new Set(rows.map((row) => row.orgId));
  const done = recorded.map((event) => event.orgId).filter((orgId) => listed.has(orgId));
  if (done.length > 0) {
    await db.delete(sessionOrg).where(and(eq(sessionOrg.sessionId, ending.id), inArray(sessionOrg.orgId, done)));
  }
  if (!allRecorded) throw revocationNotRecorded();
}

/** Whether anything of the session is still there: its row, or a (session, org) row not yet revoked. */
export async function sessionLeftovers(
  env: Pick<SessionRevocationEnv, "DB">,
  sessionId: string,
): Promise<{ sessionExists: boolean; unrevokedOrgs: number }> {
  const db = drizzle(env.DB);
  const [sessions, orgs] = await db.batch([
    db.select({ n: count() }).from(session).where(eq(session.id, sessionId)),
    db.select({ n: count() }).from(sessionOrg).where(eq(sessionOrg.sessionId, sessionId)),
  ]);
  return { sessionExists: (sessions[0]?.n ?? 0) > 0, unrevokedOrgs: orgs[0]?.n ?? 0 };
}
