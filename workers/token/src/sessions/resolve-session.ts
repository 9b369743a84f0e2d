import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { member, session } from "../../../../shared/db/schema.ts";

/** A live browser session, as the token exchange needs it. */
export interface ResolvedSession {
  sessionId: string;
  userId: string;
  orgId: string;
  roles: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type SessionLookupFailure = "unknown_or_expired" | "no_active_organization" | "not_a_member";

/**
 * Resolves a Better Auth session token against D1, the store Better Auth
 * itself writes: the row must exist and be unexpired, its active
 * organization set, and the user still a member of it (membership can end
 * while a session lives on).
 */
export async function resolveSession(
  env: { DB: D1Database },
  token: string,
): Promise<ResolvedSession | SessionLookupFailure> {
  const db = drizzle(env.DB);
  const row = await db
    .select({
      id: session.id,
      userId: session.userId,
      orgId: session.activeOrganizationId,
      expiresAt: session.expiresAt,
    })
    .from(session)
    .where(eq(session.token, token))
    .get();
  if (!row || row.expiresAt.getTime() <= Date.now()) return "unknown_or_expired";
  if (!row.orgId) return "no_active_organization";
  const membership = await db
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.userId, row.userId), eq(member.organizationId, row.orgId)))
    .get();
  if (!membership) return "not_a_member";
  return {
    sessionId: row.id,
    userId: row.userId,
    orgId: row.orgId,
    // Better Auth stores several roles comma-separated.
    roles: membership.role
      .split(",")
      .map((r) => r.trim())
      .filter(Boolean),
    expiresAt: Math.floor(row.expiresAt.getTime() / 1000),
  };
}
