import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { member, user } from "../../../../shared/db/auth-schema.ts";
import { auditDetail } from "./audit.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";

/** Most members one list returns. */
const MAX_LISTED_MEMBERS = 1000;

const memberView = z.object({
  user_id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.string(),
  joined_at: z.iso.datetime(),
});

/**
 * GET /orgs/{org}/members → `{ members: [...] }`: the people of an org and
 * their Better Auth roles (read from Better Auth's tables; people join
 * through Better Auth's organization API, and admin/member-changes.ts
 * removes them or changes their roles).
 */
export function memberRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/orgs/:org/members",
    {
      summary: "List an organization's members and their roles",
      response: z.object({ members: z.array(memberView) }),
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "member.list" });
      const rows = await drizzle(c.env.DB)
        .select({
          userId: member.userId,
          role: member.role,
          joinedAt: member.createdAt,
          email: user.email,
          name: user.name,
        })
        .from(member)
        .innerJoin(user, eq(user.id, member.userId))
        .where(eq(member.organizationId, orgId))
        .orderBy(asc(member.createdAt), asc(member.id))
        .limit(MAX_LISTED_MEMBERS)
        .all();
      return c.json({
        members: rows.map((r) => ({
          user_id: r.userId,
          email: r.email,
          name: r.name,
          role: r.role,
          joined_at: r.joinedAt.toISOString(),
        })),
      });
    },
  );
}
