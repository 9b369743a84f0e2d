import { and, eq, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { z } from "zod";
import { member } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import {
  type OwedMemberCutoff,
  oweMemberCutoff,
  owedMemberCutoff,
} from "../../../../shared/revocation/owed-member-cutoffs.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";
import { auditDetail } from "./audit.ts";
import { settleMemberCutoffs, settleMemberCutoffsFor } from "./owed-member-cutoffs.ts";
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
 *   flight"). A token names its org and the person's roles there. The
 *   second is owed from the write on: the write and a row saying so
 *   (`owed_member_cutoff`) go in one D1 batch, and the row is cleared once
 *   it is recorded. If it cannot be, the answer is 503 with the change
 *   written, and the retry (or any later change of the membership, or the
 *   cron) records it first: a retry of a removal then answers 200.
 * - PATCH /orgs/{org}/members/{userId} `{ role }` → the role changes; a
 *   demotion is revoked the same way (the old role's tokens, and the
 *   console's reach, rested on it); a promotion takes nothing away.
 *
 * The last owner can be neither removed nor demoted (409 `conflict`): the
 * write itself is conditional on another owner remaining, so two owners
 * removing or demoting each other at once leave one. Only a platform
 * operator or an owner of the org may grant or take `owner`, which
 * includes removing an owner (an org admin: 403 `forbidden`). A person who
 * is not a member: 404 `not_found`. A revocation that cannot be recorded
 * before the write: 503 `temporarily_unavailable`, and the membership stays
 * as it was; after it: 503, the change stands and its cut-off is owed.
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
      const settled = await settleOwed(c, orgId, userId);
      const current = await findMember(c, orgId, userId);
      if (!current && settled?.reason === "member-removed") {
        // This removal's retry after a 503 that left its cut-off owed: done now.
        // Its answer says the caller removed the person, so it needs the removal's own reach (the
        // cut-off above was owed whoever asks): an org admin could not have removed an owner.
        if (holdsOwner(settled.previousRole)) await requireOwnerReach(c, orgId);
        auditDetail(c, { previous_role: settled.previousRole });
        return c.json({
          org_id: orgId,
          user_id: userId,
          role: null,
          previous_role: settled.previousRole,
          revoked: true,
        });
      }
      if (!current) throw notMember();
      if (holdsOwner(current.role)) {
        await requireOwnerReach(c, orgId);
        await refuseLastOwner(c, orgId);
      }
      await revokeMember(c, orgId, userId, "member-removed");
      const owed = owedMemberCutoff(orgId, userId, "member-removed", current.role);
      const removal = drizzle(c.env.DB)
        .delete(member)
        .where(and(eq(member.id, current.id), eq(member.role, current.role), anotherOwnerUnless(orgId, current.role)));
      if (!(await writeOwing(c.env.DB, removal, owed))) await refuseChanged(c, orgId, userId);
      await settleMemberCutoffs(c.env, [owed], waitUntil(c));
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
      const settled = await settleOwed(c, orgId, userId);
      const current = await findMember(c, orgId, userId);
      if (!current) throw notMember();
      if (holdsOwner(current.role) || role === "owner") await requireOwnerReach(c, orgId);
      if (current.role === role) {
        // Nothing to change; a retry of a demotion whose cut-off was owed
        // learns it is now recorded.
        const previousRole = settled?.reason === "role-changed" ? settled.previousRole : current.role;
        return c.json({
          org_id: orgId,
          user_id: userId,
          role,
          previous_role: previousRole,
          revoked: settled !== undefined,
        });
      }
      const view = { org_id: orgId, user_id: userId, role, previous_role: current.role };
      const losesOwner = holdsOwner(current.role) && role !== "owner";
      if (losesOwner) await refuseLastOwner(c, orgId);
      const demotion = RANK[role] < highestRank(current.role);
      if (demotion) await revokeMember(c, orgId, userId, "role-changed");
      const update = drizzle(c.env.DB)
        .update(member)
        .set({ role })
        .where(
          and(
            eq(member.id, current.id),
            eq(member.role, current.role),
            losesOwner ? anotherOwnerUnless(orgId, current.role) : undefined,
          ),
        );
      const owed = demotion ? owedMemberCutoff(orgId, userId, "role-changed", current.role) : undefined;
      if (!(await writeOwing(c.env.DB, update, owed))) await refuseChanged(c, orgId, userId);
      if (owed) await settleMemberCutoffs(c.env, [owed], waitUntil(c));
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

function findMember(c: Context<AdminEnv>, orgId: string, userId: string) {
  return drizzle(c.env.DB)
    .select({ id: member.id, role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, userId)))
    .get();
}

function notMember(): HttpError {
  return new HttpError("not_found", "this person is not a member of the organization");
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
  if (!now) throw notMember();
  throw holdsOwner(now.role) ? lastOwner() : new HttpError("conflict", "the membership changed meanwhile; retry");
}

function lastOwner(): HttpError {
  return new HttpError("conflict", "the organization's last owner can be neither removed nor demoted");
}

function revokeMember(c: Context<AdminEnv>, orgId: string, userId: string, reason: string): Promise<number> {
  return recordOperatorRevocation(c.env, { orgId, kind: "subject", value: userId, reason }, waitUntil(c));
}

function waitUntil(c: Context<AdminEnv>): (promise: Promise<unknown>) => void {
  return (promise) => c.executionCtx.waitUntil(promise);
}

/**
 * Runs a membership's conditional write and, when it owes a cut-off, the
 * owed row in the same D1 batch (one transaction; the row only if the write
 * changed the membership). Whether the write changed it.
 */
async function writeOwing(
  db: D1Database,
  write: { toSQL(): { sql: string; params: unknown[] } },
  owed?: OwedMemberCutoff,
) {
  const query = write.toSQL();
  const statement = db.prepare(query.sql).bind(...query.params);
  const [written] = await db.batch(owed ? [statement, oweMemberCutoff(db, owed, "if-written")] : [statement]);
  return (written?.meta.changes ?? 0) > 0;
}

/**
 * Records any cut-off an earlier change of this membership still owes
 * (owed-member-cutoffs.ts) before this change reads the membership, so no
 * answer about it, a retry's included, comes before that is recorded.
 */
function settleOwed(c: Context<AdminEnv>, orgId: string, userId: string) {
  return settleMemberCutoffsFor(c.env, orgId, userId, waitUntil(c));
}
