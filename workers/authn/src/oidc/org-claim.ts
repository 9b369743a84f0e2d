import { APIError } from "better-auth/api";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { userBan } from "../../../../shared/db/operator-schema.ts";
import { member } from "../../../../shared/db/schema.ts";

/**
 * The org a browser-flow access token is for: the session's active org when
 * the person consented (Better Auth keeps it as the consent's, the code's and
 * the refresh token's `referenceId`, see auth/plugins/oauth-provider.ts), and
 * only while the person is still a member of it, checked at every issue
 * (refresh included), so a removed member's refresh token stops yielding
 * tokens for the org. RFC 6749 §5.2 `invalid_grant` otherwise. The
 * person's roles in the org at that moment go with it (RFC 9068 §2.2.3.1
 * `roles`, as in the first-party app's tokens), so the org's policy decides
 * for a client acting for the person what it decides for the person: no
 * more (an MCP client's sensitive tool also needs an approved grant,
 * workers/gateway/src/mcp/tool-gate.ts), and a role lost shows at the next
 * refresh. A banned person (an operator's ban or their directory's SCIM
 * deactivation, both a `user_ban` row) gets none either, read in the same
 * statement: the ban also revokes their tokens, but a refresh racing that
 * must not mint a token that postdates every cut-off.
 */
export async function orgIdClaim(db: D1Database, userId: string | undefined, orgId: string | undefined) {
  if (!userId || !orgId) {
    throw new APIError("BAD_REQUEST", {
      error: "invalid_grant",
      error_description: "the authorization names no organization",
    });
  }
  const row = await drizzle(db)
    .select({ id: member.id, role: member.role, bannedAt: userBan.bannedAt })
    .from(member)
    .leftJoin(userBan, eq(userBan.userId, member.userId))
    .where(and(eq(member.userId, userId), eq(member.organizationId, orgId)))
    .get();
  if (!row) {
    throw new APIError("BAD_REQUEST", {
      error: "invalid_grant",
      error_description: "no longer a member of the authorized organization",
    });
  }
  if (row.bannedAt !== null) {
    throw new APIError("BAD_REQUEST", { error: "invalid_grant", error_description: "the person is banned" });
  }
  // Better Auth stores several roles comma-separated.
  const roles = row.role
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  return { org_id: orgId, roles };
}
