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
 *
 * A removal (or ban) that lands after this read and before Better Auth
 * writes the tokens leaves no token past its cut-off. Better Auth fixes the
 * grant's `iat` in whole seconds when it starts building the tokens
 * (`createUserTokens`), before it calls this check (`customTokenResponseFields`,
 * and for a JWT `customAccessTokenClaims`); the JWT carries that `iat`, and
 * an opaque token's row stores it as `created_at` (`iat` × 1000), which
 * userinfo (oidc/userinfo-revocation.ts) and introspection read back as its
 * `iat`. The removal paths record a cut-off after their delete (Better
 * Auth's member hooks and the admin API owe it in an `owed_member_cutoff`
 * row, recorded by the cron if the after step fails; a SCIM deactivation
 * writes the ban, read here, before its cut-off; a deleted person's opaque
 * rows go with them, foreign key), and a cut-off refuses
 * a token whose `iat` is at or before its second (`revoked_at >= iat`,
 * workers/org-state/src/live-entries.ts), the same second included. So
 * `iat` ≤ this read < the delete ≤ the cut-off
 * (test/authn/oidc-opaque-token-cutoff.test.ts). What this cannot close: the
 * cut-off's second is the org object's clock and `iat` this isolate's, so
 * a token checked within the skew between the two clocks before a second
 * boundary that the removal crosses can carry an `iat` one second past the
 * cut-off: a window as wide as the skew, milliseconds between synchronised
 * clocks (the grant fold, org-state browser-grant-revocation.ts, allows
 * CLOCK_TOLERANCE_SECONDS for the same reason). Closing it would mean back-dating Better Auth's
 * `iat` or widening every subject cut-off by the tolerance (refusing the
 * person's fresh tokens for seconds after every role change), neither ours
 * to do here.
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
