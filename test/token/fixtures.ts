import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { member, organization, session, user } from "../../shared/db/schema.ts";

/** A user with a session in an org, written to D1 the way Better Auth writes them. */
export async function seedSession(
  options: { role?: string; activeOrg?: boolean; member?: boolean; expiresInMs?: number } = {},
) {
  const db = drizzle(env.DB);
  const id = crypto.randomUUID();
  const userId = `user-${id}`;
  const orgId = `org-${id}`;
  const token = `session-token-${id}`;
  const now = new Date();
  await db.insert(user).values({
    id: userId,
    name: "Test",
    email: `${id}@example.com`,
    emailVerified: false,
    createdAt: now,
    updatedAt: now,
  });
  await db.insert(organization).values({ id: orgId, name: "Org", slug: `org-${id}`, createdAt: now });
  if (options.member !== false) {
    await db
      .insert(member)
      .values({ id: `m-${id}`, organizationId: orgId, userId, role: options.role ?? "member", createdAt: now });
  }
  await db.insert(session).values({
    id: `s-${id}`,
    token,
    userId,
    expiresAt: new Date(Date.now() + (options.expiresInMs ?? 3_600_000)),
    createdAt: now,
    updatedAt: now,
    activeOrganizationId: options.activeOrg === false ? null : orgId,
  });
  return { userId, orgId, token, sessionId: `s-${id}` };
}
