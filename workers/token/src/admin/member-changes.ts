import { and, eq, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { z } from "zod";
import { member } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { oneOf, onlyFields } from "./validate.ts";

/** The roles an operator may set (Better Auth's organization plugin's defaults). */
const ROLES = ["owner", "admin", "member"] as const;
type Role = (typeof ROLES)[number];
const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

const memberChangeView = z.object({
  org_id: z.string(),
  user_id: z.string(),
  /** The role now; null once removed. */
  role: z.enum(ROLES).nullable(),
  previous_role: z.string(),
  /** Whether a `subject` revocation cut off the person's tokens in the org. */
  revoked: z.boolean(),
});

/**
 * Changing a membership from the admin API (an org's owners and admins, and
 * platform operators), with the authn Worker's semantics for the same change
 * through Better Auth (workers/authn/src/revocation/membership-revocation.ts):
 *
 * - DELETE /orgs/{org}/members/{userId} → the membership goes, and a
 *   `subject` revocation for the person in that org is recorded before the
 *   write and again after (a token minted while it was made carries an
 *   `iat` before the second: docs/revocation.md, "Cut-offs and mints in
 *   flight"). A token names its org and the person's roles there.
 * - PATCH /orgs/{org}/members/{userId} `{ role }` → the role changes; a
 *   demotion is revoked the same way (the old role's tokens, and the
 *   console's reach, rested on it); a promotion takes nothing away.
 *
 * The last owner can be neither removed nor demoted (409 `conflict`): the
 * write itself is conditional on another owner remaining, so two owners
 * removing or demoting each other at once leave one. Only a platform
 * operator or an owner of the org may grant or take `owner`, which
 * includes removing an owner (an org admin: 403 `forbidden`). A person who
 * is not a member: 404 `not_found`. A revocation that cannot be recorded:
 * 503 `temporarily_unavailable`, and the membership stays as it was.
 */
export function memberChangeRoutes(admin: AdminApp): void {
  route(
    admin,
    "delete",
    "/orgs/:org/members/:userId",
    {
      summary: "Remove a member: their tokens in the org are revoked; the last owner stays",
      response: memberChangeView,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const userId = c.req.param("userId");
      auditDetail(c, { action: "member.remove", user_id: userId });
      const current = await requireMember(c, orgId, userId);
      if (holdsOwner(current.role)) {
        await requireOwnerReach(c, orgId);
        await refuseLastOwner(c, orgId);
      }
      await revokeMember(c, orgId, userId, "member-removed");
      const db = drizzle(c.env.DB);
      const removed = await db
        .delete(member)
        .where(and(eq(member.id, current.id), eq(member.role, current.role), anotherOwnerUnless(orgId, current.role)))
        .returning({ id: member.id });
      if (removed.length === 0) await refuseChanged(c, orgId, userId);
      await revokeMember(c, orgId, userId, "member-removed");
      auditDetail(c, { previous_role: current.role });
      return c.json({ org_id: orgId, user_id: userId, role: null, previous_role: current.role, revoked: true });
    },
  );

  route(
    admin,
    "patch",
    "/orgs/:org/members/:userId",
    {
      summary: "Change a member's role: a demotion revokes their tokens in the org; the last owner stays",
      body: z.object({ role: z.enum(ROLES) }),
      response: memberChangeView,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const userId = c.req.param("userId");
      auditDetail(c, { action: "member.role", user_id: userId });
      const body = await readJsonObject(c);
      onlyFields(body, ["role"]);
      const role = oneOf(body, "role", ROLES);
      auditDetail(c, { role });
      const current = await requireMember(c, orgId, userId);
      if (holdsOwner(current.role) || role === "owner") await requireOwnerReach(c, orgId);
      const view = { org_id: orgId, user_id: userId, role, previous_role: current.role };
      if (current.role === role) return c.json({ ...view, revoked: false });
      const losesOwner = holdsOwner(current.role) && role !== "owner";
      if (losesOwner) await refuseLastOwner(c, orgId);
      const demotion = RANK[role] < highestRank(current.role);
      if (demotion) await revokeMember(c, orgId, userId, "role-changed");
      const changed = await drizzle(c.env.DB)
        .update(member)
        .set({ role })
        .where(
          and(
            eq(member.id, current.id),
            eq(member.role, current.role),
            losesOwner ? anotherOwnerUnless(orgId, current.role) : undefined,
          ),
        )
        .returning({ id: member.id });
      if (changed.length === 0) await refuseChanged(c, orgId, userId);
      if (demotion) await revokeMember(c, orgId, userId, "role-changed");
      auditDetail(c, { previous_role: current.role });
      return c.json({ ...view, revoked: demotion });
    },
  );
}

/** Whether a Better Auth member role (comma-separated when several) includes `owner`. */
function holdsOwner(role: string): boolean {
  return role.split(",").some((r) => r.trim() === "owner");
}

/** The highest of a (comma-separated) role's ranks; a role we do not know counts as the lowest. */
function highestRank(role: string): number {
  return Math.max(0, ...role.split(",").map((r) => RANK[r.trim() as Role] ?? 0));
}

/** SQL: a member role includes `owner` (holdsOwner's test, on the comma-separated list). */
function holdsOwnerSql(role: SQLWrapper): SQL {
  return sql`(',' || replace(${role}, ' ', '') || ',') LIKE '%,owner,%'`;
}

/**
 * The condition that keeps an org's last owner: true for a role without
 * `owner`; for an owner's, true only while another owner exists. Part of
 * the write itself, so it is decided on the rows as they are when the
 * statement runs (D1 runs one statement at a time), never on an earlier read.
 */
function anotherOwnerUnless(orgId: string, role: string) {
  if (!holdsOwner(role)) return undefined;
  return sql`(SELECT count(*) FROM ${member} AS owners WHERE owners.organization_id = ${orgId} AND ${holdsOwnerSql(sql`owners.role`)}) > 1`;
}

async function requireMember(c: Context<AdminEnv>, orgId: string, userId: string) {
  const row = await drizzle(c.env.DB)
    .select({ id: member.id, role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, userId)))
    .get();
  if (!row) throw new HttpError("not_found", "this person is not a member of the organization");
  return row;
}

/**
 * Granting or taking `owner` is an owner's act: org admins reach every
 * route under their org (admin/authorize.ts), so it is checked here.
 */
async function requireOwnerReach(c: Context<AdminEnv>, orgId: string): Promise<void> {
  const operator = c.get("operator");
  if (operator.reach.platform) return;
  const own = await drizzle(c.env.DB)
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, operator.subject)))
    .get();
  if (!own || !holdsOwner(own.role)) {
    throw new HttpError("forbidden", "only an owner of the organization may grant or take the owner role");
  }
}

/** A clear refusal before anything is revoked; the conditional write is what enforces it. */
async function refuseLastOwner(c: Context<AdminEnv>, orgId: string): Promise<void> {
  const owners = await drizzle(c.env.DB)
    .select({ n: sql<number>`count(*)` })
    .from(member)
    .where(and(eq(member.organizationId, orgId), holdsOwnerSql(member.role)))
    .get();
  if ((owners?.n ?? 0) <= 1) throw lastOwner();
}

/** Why a conditional write changed nothing: the member left meanwhile (404), or the last-owner rule or a concurrent change (409). */
async function refuseChanged(c: Context<AdminEnv>, orgId: string, userId: string): Promise<never> {
  const now = await drizzle(c.env.DB)
    .select({ role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, userId)))
    .get();
  if (!now) throw new HttpError("not_found", "this person is not a member of the organization");
  throw holdsOwner(now.role) ? lastOwner() : new HttpError("conflict", "the membership changed meanwhile; retry");
}

function lastOwner(): HttpError {
  return new HttpError("conflict", "the organization's last owner can be neither removed nor demoted");
}

function revokeMember(c: Context<AdminEnv>, orgId: string, userId: string, reason: string): Promise<number> {
  return recordOperatorRevocation(c.env, { orgId, kind: "subject", value: userId, reason }, (p) =>
    c.executionCtx.waitUntil(p),
  );
}
