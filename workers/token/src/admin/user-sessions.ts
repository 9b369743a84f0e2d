import { and, asc, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { z } from "zod";
import { session, user } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { auditDetail } from "./audit.ts";
import { cutOffPerson } from "./person-cutoff.ts";
import { route } from "./route.ts";
import type { AdminApp, AdminEnv } from "./types.ts";

/** Most sessions one list returns (authn caps a person's live sessions far below this). */
const MAX_LISTED_SESSIONS = 200;

const sessionView = z.object({
  id: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  ip_address: z.string().nullable(),
  user_agent: z.string().nullable(),
  active_organization_id: z.string().nullable(),
});

const signOutView = z.object({
  user_id: z.string(),
  revoked_in_orgs: z.array(z.string()),
  sessions_ended: z.number().int(),
});

/**
 * A person's sessions, for platform operators (paths outside `/orgs/{org}`,
 * so org admins are refused by admin/authorize.ts), without banning them:
 *
 * - GET /users/{id}/sessions → `{ sessions: [...] }`, the live ones, oldest
 *   first. Never the session token: it is the bearer credential of the
 *   person's browser (Better Auth's cookie), and whoever reads it is them.
 * - POST /users/{id}/sign-out ("clear user sessions", as Okta words it) →
 *   every token they hold is cut off (a `subject` revocation in every org
 *   they belong to or minted in), every session ends, and their OAuth
 *   refresh and opaque access tokens at our OpenID Provider are revoked
 *   (RFC 6749 §10.4), all before the 200 (admin/person-cutoff.ts). They may
 *   sign in again at once: that is a ban's job (admin/users.ts).
 */
export function userSessionRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/users/:id/sessions",
    {
      summary: "List a person's live sessions (platform operators; never the session token)",
      response: z.object({ sessions: z.array(sessionView) }),
    },
    async (c) => {
      const userId = c.req.param("id");
      auditDetail(c, { action: "user.sessions", user_id: userId });
      await requirePerson(c, userId);
      const rows = await drizzle(c.env.DB)
        .select({
          id: session.id,
          createdAt: session.createdAt,
          updatedAt: session.updatedAt,
          expiresAt: session.expiresAt,
          ipAddress: session.ipAddress,
          userAgent: session.userAgent,
          activeOrganizationId: session.activeOrganizationId,
        })
        .from(session)
        .where(and(eq(session.userId, userId), gt(session.expiresAt, new Date())))
        .orderBy(asc(session.createdAt), asc(session.id))
        .limit(MAX_LISTED_SESSIONS)
        .all();
      return c.json({
        sessions: rows.map((r) => ({
          id: r.id,
          created_at: r.createdAt.toISOString(),
          updated_at: r.updatedAt.toISOString(),
          expires_at: r.expiresAt.toISOString(),
          ip_address: r.ipAddress,
          user_agent: r.userAgent,
          active_organization_id: r.activeOrganizationId,
        })),
      });
    },
  );

  route(
    admin,
    "post",
    "/users/:id/sign-out",
    {
      summary: "Sign a person out everywhere: every token revoked, sessions ended, OAuth grants' tokens revoked",
      response: signOutView,
    },
    async (c) => {
      const userId = c.req.param("id");
      auditDetail(c, { action: "user.sign_out", user_id: userId });
      await requirePerson(c, userId);
      const { orgIds, sessionsEnded } = await cutOffPerson(c, userId, "operator sign-out");
      auditDetail(c, { revoked_in_orgs: orgIds, sessions_ended: sessionsEnded });
      return c.json({ user_id: userId, revoked_in_orgs: orgIds, sessions_ended: sessionsEnded });
    },
  );
}

/** 404 `not_found` unless the person exists. */
async function requirePerson(c: Context<AdminEnv>, userId: string): Promise<void> {
  const person = await drizzle(c.env.DB).select({ id: user.id }).from(user).where(eq(user.id, userId)).get();
  if (!person) throw new HttpError("not_found", "no such user");
}
