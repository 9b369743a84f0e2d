import { and, asc, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { member, session, userBan } from "../../../../shared/db/schema.ts";
import { userBannedError } from "./banned-session-insert.ts";

interface StartingSession {
  userId: string;
}

/**
 * Better Auth's `session.create.before` hook.
 *
 * A new session starts in the person's first organization, so a returning
 * user's first token names a tenant without an extra "choose organization"
 * step (Better Auth's documented pattern).
 *
 * A banned person (shared/db/operator-schema.ts) starts none: 403 USER_BANNED.
 * (A sign-in that read the ban table just before the ban was written is
 * stopped by the session table's trigger instead: auth/banned-session-insert.ts.)
 *
 * And a person holds at most `maxSessions` live sessions: at the cap, the
 * oldest end (through Better Auth, so their tokens are revoked like any
 * other ended session's). The bound keeps every bulk session delete inside
 * what Better Auth runs the delete hooks for (config.ts,
 * BETTER_AUTH_FIND_MANY_LIMIT), and keeps a stolen password from piling up
 * sessions.
 */
export function sessionStartHook(
  env: { DB: D1Database },
  maxSessions: number,
  endSession: (token: string) => Promise<void>,
) {
  return async <S extends StartingSession>(starting: S) => {
    const db = drizzle(env.DB);
    const [banned, firstOrg, live] = await db.batch([
      db.select({ userId: userBan.userId }).from(userBan).where(eq(userBan.userId, starting.userId)).limit(1),
      db
        .select({ orgId: member.organizationId })
        .from(member)
        .where(eq(member.userId, starting.userId))
        .orderBy(asc(member.createdAt))
        .limit(1),
      db
        .select({ token: session.token })
        .from(session)
        .where(and(eq(session.userId, starting.userId), gt(session.expiresAt, new Date())))
        .orderBy(asc(session.createdAt)),
    ]);
    // A person a platform operator banned (admin API POST /users/{id}/ban) starts no session, by any sign-in method.
    if (banned.length > 0) throw userBannedError();
    const excess = live.length - (maxSessions - 1);
    for (const old of live.slice(0, Math.max(0, excess))) await endSession(old.token);
    const orgId = firstOrg[0]?.orgId;
    return orgId ? { data: { ...starting, activeOrganizationId: orgId } } : undefined;
  };
}
