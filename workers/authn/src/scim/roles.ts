/**
 * How SCIM Groups map onto the org (the organization plugin runs without
 * teams here, auth/options.ts): a Group is the directory's grouping of its
 * people, stored and served as it was sent; a Group named after an org role
 * the directory may grant projects that role onto its members' `member`
 * rows. The directory may grant `admin` (the role Better Auth's
 * organization plugin gives org administration) and nothing above it: a
 * Group called "owner" is only a Group, and a membership whose role is
 * `owner` (made in the org's own pages) is never rewritten, so a SCIM token
 * cannot mint owners, demote them, or reach past its org
 * (GHSA-j8v8-g9cx-5qf4).
 *
 * The projected role is written in the same D1 batch as the group change
 * that causes it (`projectRoles` UPDATEs, last in the batch, compute it from
 * the group rows as the batch leaves them), so a role never disagrees with
 * the groups.
 * Each person whose role changed has their tokens in the org cut off
 * (revocation/membership-revocation.ts) before the answer: their tokens
 * carry the old role. Before the write too, for everyone whose role it may
 * change (rolesMayChange), as the admin API and Better Auth's hooks record a
 * role change: were the only record the one after the write, a write whose
 * revocation failed (503) would leave the new role in place, and the
 * directory's retry — finding nothing left to change — would answer 200
 * with the demoted admin's tokens still carrying `admin`. Now a failure
 * before the write changes nothing, and the one after it is owed from the
 * write on (`oweChangedRoles`, in the write's batch): if the answer was a
 * 503, the org's next Group write (the directory's retry) records it
 * before it answers (`settleOwedRoles`), or the token Worker's cron does.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { member, owedMemberCutoff } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import { clearOwedMemberCutoffs, owedMemberCutoffsOf } from "../../../../shared/revocation/owed-member-cutoffs.ts";
import { recordSubjectCutoffs } from "../../../../shared/revocation/subject-cutoffs.ts";
import { revocationNotRecorded } from "../revocation/record-or-refuse.ts";

/** Group displayName (lower-cased) → the org role it grants. */
export const GROUP_ROLES: Readonly<Record<string, "admin">> = { admin: "admin" };

/** The revocation's reason, and an owed cut-off's. */
const ROLE_CHANGED = "scim-role-changed";

/**
 * Owed role cut-offs one Group write records at most before it answers
 * (settleOwedRoles), oldest first. Each was once a call to the org's
 * Durable Object: a backlog of them all at once took the request past
 * Workers' subrequest limit, and every Group write of the org answered 503
 * until the token Worker's cron cleared it. They are one call now
 * (recordRoleCutoffs), but each is still a D1 row read and cleared and an
 * audit record: bounded, each write (each of the directory's retries) works
 * off its share, and the cron the rest.
 */
export const OWED_ROLES_PER_WRITE = 50;

/** Roles the projection may write, and the only roles it may overwrite. */
const PROJECTED_ROLES = ["member", "admin"];

export type RoleChange = { userId: string; role: string };

/** The current roles of these people in the org, to compare with the projection's result. */
export function currentRoles(db: DrizzleD1Database, orgId: string, userIds: string[]) {
  return db
    .select({ userId: member.userId, role: member.role })
    .from(member)
    .where(and(eq(member.organizationId, orgId), inArray(member.userId, userIds)));
}

/** The UPDATE (for a batch) that sets each person's role from the groups they are in. */
export function projectRoles(db: DrizzleD1Database, orgId: string, userIds: string[]) {
  const admin = Object.keys(GROUP_ROLES);
  return db
    .update(member)
    .set({
      // "member"."user_id" spelled out: inside the sub-query an unqualified user_id would be the group member's.
      role: sql`CASE WHEN EXISTS (SELECT 1 FROM scim_group_member gm JOIN scim_group g ON g.id = gm.group_id
        WHERE gm.user_id = "member"."user_id" AND g.org_id = ${orgId}
        AND g.display_name_key IN (${sql.join(
          admin.map((name) => sql`${name}`),
          sql`, `,
        )})) THEN 'admin' ELSE 'member' END`,
    })
    .where(
      and(eq(member.organizationId, orgId), inArray(member.userId, userIds), inArray(member.role, PROJECTED_ROLES)),
    )
    .returning({ userId: member.userId, role: member.role });
}

/**
 * The second cut-off a projection owes, as rows of `owed_member_cutoff`
 * (shared/revocation/owed-member-cutoffs.ts) for its batch, after the
 * projections: one for each of `before` whose role the batch left
 * different. Were the cut-off after the write to fail, the directory's
 * retry would find nothing left to change and answer 200, with tokens
 * minted while the write was made still carrying the old role; the row
 * keeps it owed until the token Worker's cron records it. The people go as
 * one JSON parameter (D1 binds at most 100 values per statement). The ids,
 * to clear once the cut-offs are recorded.
 */
export function oweChangedRoles(db: DrizzleD1Database, orgId: string, before: readonly RoleChange[]) {
  const rows = before.map(({ userId, role }) => [crypto.randomUUID(), userId, role]);
  const people = JSON.stringify(rows);
  const read = (index: number) =>
    sql<string>`(SELECT json_extract(p.value, ${`$[${index}]`}) FROM json_each(${people}) p
      WHERE json_extract(p.value, '$[1]') = ${member.userId})`;
  const statement = db.insert(owedMemberCutoff).select(
    db
      .select({
        id: read(0).as("id"),
        orgId: member.organizationId,
        userId: member.userId,
        reason: sql<string>`${ROLE_CHANGED}`.as("reason"),
        previousRole: read(2).as("previous_role"),
        createdAt: sql<Date>`${Date.now()}`.as("created_at"),
      })
      .from(member)
      .where(
        and(
          eq(member.organizationId, orgId),
          sql`EXISTS (SELECT 1 FROM json_each(${people}) p
            WHERE json_extract(p.value, '$[1]') = ${member.userId} AND json_extract(p.value, '$[2]') <> ${member.role})`,
        ),
      ),
  );
  return { statement, ids: rows.map(([id]) => id as string) };
}

/**
 * Records the role cut-offs earlier Group writes of the org still owe (a
 * write that answered 503 after its write), at most OWED_ROLES_PER_WRITE of
 * them, oldest first, and clears the rows of each person whose cut-off was
 * recorded, in one call to the org's object (recordRoleCutoffs). Run before
 * a Group write, so its answer never comes first: a
 * directory's retry of such a write finds nothing left to change and
 * answered 200 with the cut-off still owed, waiting for the token Worker's
 * cron. As the admin API's retry does
 * (workers/token/src/admin/owed-member-cutoffs.ts).
 *
 * Throws (503 `unavailable`, the write not made) while any owed row is left:
 * one the org's object refused, or one past this request's share. Which
 * write a row came from is not known, so the write being retried may be
 * among them: it must not answer first. The directory's retries each work
 * off another share (and the cron its own), so a backlog ends in answers
 * instead of 503s that never make progress.
 */
export async function settleOwedRoles(env: AuthnEnv, orgId: string): Promise<void> {
  const owed = await owedMemberCutoffsOf(env.DB, orgId, ROLE_CHANGED, OWED_ROLES_PER_WRITE + 1);
  if (owed.length === 0) return;
  const share = owed.slice(0, OWED_ROLES_PER_WRITE);
  const people = [...new Set(share.map((row) => row.userId))];
  const recorded = new Set(await recordRoleCutoffs(env, orgId, people));
  const settled = share.filter((row) => recorded.has(row.userId)).map((row) => row.id);
  await clearOwedMemberCutoffs(env.DB, settled).catch((error: unknown) => {
    // Recorded: a row left only means the cron records it once more.
    console.error("owed SCIM role cut-offs recorded but not cleared", orgId, error);
  });
  if (recorded.size < people.length) throw revocationNotRecorded();
  if (owed.length > share.length) {
    throw new ScimError("unavailable", "earlier Group writes still owe role revocations; try again");
  }
}

/** The role a group of this name grants, if any. */
function grantedRole(displayName: string | undefined): string | undefined {
  return displayName === undefined ? undefined : GROUP_ROLES[displayName.toLowerCase()];
}

/**
 * Everyone whose role a group write may change, among `before` (the
 * affected people's roles now): none if the group grants no role before or
 * after it; if it grants the same role before and after, those who join or
 * leave it; otherwise (created, deleted or renamed into or out of a role's
 * name) all its members before and after. Only roles the projection may
 * overwrite count: an owner's never changes. Someone whose role another
 * group keeps is included too; their tokens are cut off for nothing, which
 * costs them a new token, not access.
 */
export function rolesMayChange(
  current: { displayName: string; memberIds: readonly string[] } | undefined,
  next: { displayName: string; memberIds: readonly string[] } | undefined,
  before: readonly RoleChange[],
): RoleChange[] {
  const was = grantedRole(current?.displayName);
  const will = grantedRole(next?.displayName);
  if (was === undefined && will === undefined) return [];
  const old = new Set(current?.memberIds ?? []);
  const now = new Set(next?.memberIds ?? []);
  const candidates = was === will ? [...old, ...now].filter((id) => old.has(id) !== now.has(id)) : [...old, ...now];
  const ids = new Set(candidates);
  return before.filter(({ userId, role }) => ids.has(userId) && PROJECTED_ROLES.includes(role));
}

/**
 * Cuts off the tokens of everyone whose role the projection changed: one
 * `subject` revocation each in the org, as revocation/membership-revocation.ts
 * `revokeMemberTokens` records for a role change (revokeRoles). A failure is
 * a 503 to the directory.
 */
export async function revokeChangedRoles(
  env: AuthnEnv,
  orgId: string,
  before: RoleChange[],
  after: RoleChange[],
): Promise<void> {
  const was = new Map(before.map((r) => [r.userId, r.role]));
  await revokeRoles(
    env,
    orgId,
    after.filter(({ userId, role }) => was.get(userId) !== role),
  );
}

/**
 * One `subject` revocation in the org for each of these people
 * (recordRoleCutoffs); every one is tried, and a failure of any throws (503).
 */
export async function revokeRoles(env: AuthnEnv, orgId: string, people: readonly { userId: string }[]): Promise<void> {
  const userIds = people.map(({ userId }) => userId);
  if ((await recordRoleCutoffs(env, orgId, userIds)).length < userIds.length) throw revocationNotRecorded();
}

/**
 * Records each person's role cut-off in the org with one call to its
 * object per MAX_SUBJECT_REVOCATIONS_PER_CALL people
 * (shared/revocation/subject-cutoffs.ts), not one per person: a write
 * renaming an `admin` Group of 1,000 members made ~2,000 calls (before and
 * after its write), past Workers' limit of subrequests per request, so it
 * could only fail. The people whose cut-off was recorded, each audited.
 */
async function recordRoleCutoffs(env: AuthnEnv, orgId: string, userIds: readonly string[]): Promise<string[]> {
  const recorded = await recordSubjectCutoffs(
    env,
    orgId,
    userIds.map((userId) => ({ userId, reason: ROLE_CHANGED })),
  );
  return userIds.filter((_, i) => recorded[i]);
}
