import { and, asc, eq, like, notLike, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { user } from "../../../../shared/db/auth-schema.ts";
import { SCIM_BAN_PREFIX, SCIM_BAN_REASON, userBan } from "../../../../shared/db/operator-schema.ts";
import { scimUser } from "../../../../shared/db/schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { auditDetail } from "./audit.ts";
import { readOptionalJsonObject } from "./body.ts";
import { cutOffPerson } from "./person-cutoff.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { onlyFields, optionalString } from "./validate.ts";

const MAX_LISTED_USERS = 100;

const userView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  created_at: z.iso.datetime(),
  banned_at: z.iso.datetime().nullable(),
});

const banView = z.object({
  user_id: z.string(),
  banned: z.boolean(),
  banned_at: z.iso.datetime().nullable(),
  reason: z.string().nullable(),
  revoked_in_orgs: z.array(z.string()),
  sessions_ended: z.number().int(),
});

/**
 * People, for platform operators:
 *
 * - GET /users?email= → `{ users: [...] }` (at most 100, oldest first; `email` exact).
 * - POST /users/{id}/ban `{ reason? }` → the person can no longer start a
 *   session (the authn Worker refuses it), every token they hold is revoked
 *   (a `subject` revocation in every org they belong to or minted in,
 *   recorded before the answer), their sessions end, and so do their
 *   browser OAuth grants' tokens (admin/person-cutoff.ts). Banning again is
 *   harmless (the first ban's time and reason stay).
 * - DELETE /users/{id}/ban → lifted; what was revoked stays revoked.
 */
export function userRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/users",
    {
      summary: "List people (platform operators)",
      query: { email: z.string() },
      response: z.object({ users: z.array(userView) }),
    },
    async (c) => {
      const email = c.req.query("email")?.trim().toLowerCase();
      auditDetail(c, { action: "user.list" });
      const rows = await drizzle(c.env.DB)
        .select({ user, bannedAt: userBan.bannedAt })
        .from(user)
        .leftJoin(userBan, eq(userBan.userId, user.id))
        .where(email ? eq(user.email, email) : undefined)
        .orderBy(asc(user.createdAt), asc(user.id))
        .limit(MAX_LISTED_USERS)
        .all();
      return c.json({
        users: rows.map((r) => ({
          id: r.user.id,
          email: r.user.email,
          name: r.user.name,
          created_at: r.user.createdAt.toISOString(),
          banned_at: r.bannedAt?.toISOString() ?? null,
        })),
      });
    },
  );

  route(
    admin,
    "post",
    "/users/:id/ban",
    {
      summary: "Ban a person: no new session, every token revoked, sessions ended",
      body: z.object({ reason: z.string().max(200).optional() }),
      bodyOptional: true,
      response: banView,
    },
    async (c) => {
      const userId = c.req.param("id");
      auditDetail(c, { action: "user.ban", user_id: userId });
      const body = await readOptionalJsonObject(c);
      onlyFields(body, ["reason"]);
      const reason = optionalString(body, "reason", { max: 200 }) ?? "operator";
      const db = drizzle(c.env.DB);
      const person = await db.select({ id: user.id }).from(user).where(eq(user.id, userId)).get();
      if (!person) throw new HttpError("not_found", "no such user");
      // Recorded first: from here on no new session starts (the session
      // table's trigger refuses one, migrations/0014), so none can outrun
      // the revocations below.
      // The person has one row: an operator's ban replaces a directory's
      // (SCIM) deactivation ban, so the directory's reactivation cannot lift
      // it; a second operator ban keeps the first.
      const bannedBy = c.get("operator").subject;
      const bannedAt = new Date();
      await db
        .insert(userBan)
        .values({ userId, reason, bannedBy, bannedAt })
        .onConflictDoUpdate({
          target: userBan.userId,
          set: { reason, bannedBy, bannedAt },
          setWhere: like(userBan.bannedBy, `${SCIM_BAN_PREFIX}%`),
        })
        .run();
      // The ban row, written above, lets no new session start: the sessions
      // the cut-off ends are all there will be.
      const { orgIds, sessionsEnded } = await cutOffPerson(c, userId, "user banned");
      const ban = await db.select().from(userBan).where(eq(userBan.userId, userId)).get();
      auditDetail(c, { revoked_in_orgs: orgIds, sessions_ended: sessionsEnded });
      return c.json({
        user_id: userId,
        banned: true,
        banned_at: ban?.bannedAt.toISOString() ?? null,
        reason: ban?.reason ?? reason,
        revoked_in_orgs: orgIds,
        sessions_ended: sessionsEnded,
      });
    },
  );

  route(
    admin,
    "delete",
    "/users/:id/ban",
    { summary: "Lift a ban (what was revoked stays revoked)", response: banView },
    async (c) => {
      const userId = c.req.param("id");
      auditDetail(c, { action: "user.unban", user_id: userId });
      const db = drizzle(c.env.DB);
      // Only an operator's ban; in the same batch the directory's ban comes
      // back if the person's org deactivated them meanwhile (SCIM `active`
      // false), so lifting one never lifts the other.
      const [lifted] = await db.batch([
        db
          .delete(userBan)
          .where(and(eq(userBan.userId, userId), notLike(userBan.bannedBy, `${SCIM_BAN_PREFIX}%`)))
          .returning(),
        db
          .insert(userBan)
          .select(
            db
              .select({
                userId: scimUser.userId,
                reason: sql<string>`${SCIM_BAN_REASON}`.as("reason"),
                bannedBy: sql<string>`${SCIM_BAN_PREFIX} || ${scimUser.orgId}`.as("banned_by"),
                bannedAt: sql<number>`${Date.now()}`.as("banned_at"),
              })
              .from(scimUser)
              .where(and(eq(scimUser.userId, userId), eq(scimUser.active, false))),
          )
          .onConflictDoNothing(),
      ]);
      if (lifted.length === 0) {
        const directory = await db.select().from(userBan).where(eq(userBan.userId, userId)).get();
        if (directory) {
          throw new HttpError("conflict", "the person's organization deactivated them (SCIM); reactivate them there");
        }
        throw new HttpError("not_found", "this user is not banned");
      }
      return c.json({
        user_id: userId,
        banned: false,
        banned_at: null,
        reason: null,
        revoked_in_orgs: [],
        sessions_ended: 0,
      });
    },
  );
}
