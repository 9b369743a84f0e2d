import { and, eq, gt, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { cookieName, SESSION_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { SECOND_FACTOR_REQUIRED } from "../../../../shared/contracts/second-factor.ts";
import { member, session, user } from "../../../../shared/db/schema.ts";
import { secondFactorPassed } from "../sessions/second-factor.ts";

/** A signed-in person, in their session's active org. */
export interface SessionOwner {
  sessionId: string;
  userId: string;
  orgId: string;
}

/**
 * Better Auth's session cookie name, as the authn Worker configures it
 * (workers/authn/src/auth/options.ts: prefix `__Host-mono` on an https
 * issuer, `mono` on plain-http local runs). Only the one the issuer sets is
 * read: on https, a `mono.session_token` planted by a sibling host (no
 * `__Host-` guarantee) must not start a flow that saves someone's tokens
 * into the planter's account.
 */
function sessionCookieName(issuer: string): string {
  return cookieName(issuer, SESSION_COOKIE);
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The person whose browser sent this request, from their session cookie.
 * The cookie is `<token>.<signature>`: the token is the session's bearer
 * secret (random, unique, looked up in D1 like Better Auth does), so it is
 * what is checked; the signature, keyed by the authn Worker's secret, adds
 * nothing a holder of the token lacks, and checking it would give this
 * Worker BETTER_AUTH_SECRET. The session must be live and its user a member
 * of its active org. Undefined when there is no such session;
 * SECOND_FACTOR_REQUIRED when its person turned the second factor on and
 * the session has not passed it (sessions/second-factor.ts): it saves
 * tokens into the person's vault, as only a signed-in person may.
 */
export async function sessionOwner(
  db: D1Database,
  issuer: string,
  request: Request,
): Promise<SessionOwner | typeof SECOND_FACTOR_REQUIRED | undefined> {
  const raw = cookieValue(request.headers.get("Cookie"), sessionCookieName(issuer));
  if (!raw) return undefined;
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const dot = value.lastIndexOf(".");
  const token = dot > 0 ? value.slice(0, dot) : value;
  if (!token || token.length > 256) return undefined;
  return ownerWhere(db, eq(session.token, token));
}

/**
 * The same answer for a session known by its id: what the callback will
 * find for this session's browser. The connect-link confirmation asks it
 * before spending the link (admin/vault-connect-links.ts), so a session the
 * callback would refuse (no active org, or one its person left) is told so
 * while the link is still good.
 */
export function sessionOwnerById(
  db: D1Database,
  sessionId: string,
): Promise<SessionOwner | typeof SECOND_FACTOR_REQUIRED | undefined> {
  return ownerWhere(db, eq(session.id, sessionId));
}

/**
 * What sessionOwnerById answers a SessionOwner for, as one SQL condition (a
 * live session, past its second factor, whose person is a member of its
 * active org), for a write that must hold only while it does.
 */
export function sessionOwnerCondition(sessionId: string, now: Date): SQL {
  return sql`exists (select 1 from ${session}
    inner join ${user} on ${eq(user.id, session.userId)}
    inner join ${member} on ${and(eq(member.userId, session.userId), eq(member.organizationId, session.activeOrganizationId))}
    where ${and(eq(session.id, sessionId), gt(session.expiresAt, now))} and ${secondFactorPassed(now)})`;
}

async function ownerWhere(
  db: D1Database,
  which: SQL,
): Promise<SessionOwner | typeof SECOND_FACTOR_REQUIRED | undefined> {
  const now = new Date();
  const row = await drizzle(db)
    .select({
      sessionId: session.id,
      userId: session.userId,
      orgId: session.activeOrganizationId,
      secondFactorPassed: secondFactorPassed(now),
    })
    .from(session)
    .innerJoin(user, eq(user.id, session.userId))
    .innerJoin(member, and(eq(member.userId, session.userId), eq(member.organizationId, session.activeOrganizationId)))
    .where(and(which, gt(session.expiresAt, now)))
    .get();
  if (!row || !row.orgId) return undefined;
  if (!row.secondFactorPassed) return SECOND_FACTOR_REQUIRED;
  return { sessionId: row.sessionId, userId: row.userId, orgId: row.orgId };
}
