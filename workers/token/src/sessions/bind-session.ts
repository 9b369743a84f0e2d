import { and, eq, gt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { member, session, sessionOrg } from "../../../../shared/db/schema.ts";

/** A live browser session, bound to its active organization, as the exchange needs it. */
export interface BoundSession {
  sessionId: string;
  userId: string;
  orgId: string;
  roles: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type SessionRefusal = "unknown_or_expired" | "no_active_organization" | "not_a_member";

/**
 * Resolves a Better Auth session token against D1 (the store Better Auth
 * itself writes) and binds the session to its active organization in
 * `session_org` before any token for that pair can be signed.
 *
 * Both happen in one D1 batch, in this order: first INSERT OR IGNORE the
 * (session, org) pair — only if the session is live and its user a member of
 * the org — then read the session back. Why this order closes the race with
 * a concurrent sign-out: the authn Worker deletes the session row and only
 * then revokes the session in every org listed in `session_org`. D1 runs one
 * statement at a time and a batch as one transaction, so our batch runs
 * either wholly before the delete — then our row is written before the
 * delete, the sign-out reads it and revokes the session in this org, and the
 * token we sign is cut off — or wholly after it — then the read finds no
 * session and nothing is signed. Reading first and writing the pair after
 * would leave a window where a sign-out misses the org of a token about to
 * be signed. The row is written even when the session was already bound, so
 * a switch of the active org is covered the same way.
 *
 * The row also carries `not_after`, the session's `expires_at` as this batch
 * reads it, raised when a later mint reads a later one: the token is capped
 * there (exchange-session.ts `notAfter`), so no token minted under the row
 * outlives it, and the cron prunes the row only once that has long passed
 * (maintenance/prune-expired.ts). A prune that deleted the row just before
 * this batch changes nothing: the batch writes it again before the read.
 */
export async function bindSession(db: D1Database, token: string): Promise<BoundSession | SessionRefusal> {
  const orm = drizzle(db);
  const now = new Date();
  const memberOfActiveOrg = and(
    eq(member.userId, session.userId),
    eq(member.organizationId, session.activeOrganizationId),
  );
  const [, rows] = await orm.batch([
    orm
      .insert(sessionOrg)
      .select(
        orm
          .select({
            sessionId: session.id,
            orgId: sql<string>`${session.activeOrganizationId}`.as("org_id"),
            createdAt: sql<number>`${now.getTime()}`.as("created_at"),
            notAfter: session.expiresAt,
          })
          .from(session)
          .innerJoin(member, memberOfActiveOrg)
          .where(and(eq(session.token, token), gt(session.expiresAt, now)))
          .limit(1),
      )
      // The row's `not_after` only ever rises, and only when the session's
      // expiry did (a refresh, at most daily): every other mint writes nothing.
      .onConflictDoUpdate({
        target: [sessionOrg.sessionId, sessionOrg.orgId],
        set: { notAfter: sql`excluded.not_after` },
        setWhere: sql`${sessionOrg.notAfter} IS NULL OR excluded.not_after > ${sessionOrg.notAfter}`,
      }),
    orm
      .select({
        sessionId: session.id,
        userId: session.userId,
        orgId: session.activeOrganizationId,
        expiresAt: session.expiresAt,
        role: member.role,
      })
      .from(session)
      .leftJoin(member, memberOfActiveOrg)
      .where(eq(session.token, token))
      .limit(1),
  ]);
  // The same conditions as the INSERT above, read in the same transaction:
  // whenever this returns a session, its (session, org) row exists.
  const row = rows[0];
  if (!row || row.expiresAt.getTime() <= now.getTime()) return "unknown_or_expired";
  if (!row.orgId) return "no_active_organization";
  if (row.role === null) return "not_a_member";
  return {
    sessionId: row.sessionId,
    userId: row.userId,
    orgId: row.orgId,
    // Better Auth stores several roles comma-separated.
    roles: row.role
      .split(",")
      .map((r) => r.trim())
      .filter(Boolean),
    expiresAt: Math.floor(row.expiresAt.getTime() / 1000),
  };
}
