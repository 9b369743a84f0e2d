import { APIError } from "better-auth/api";
import { type OwedMemberCutoff, oweMemberCutoff } from "../../../../shared/revocation/owed-member-cutoffs.ts";

/** Better Auth's creator role, the one an organization may never be left without. */
const OWNER = "owner";
/** Better Auth's default role, what an owner who leaves holds for the moment between stepping down and the delete. */
const MEMBER = "member";

/** Whether a role column (Better Auth stores several roles comma-separated) holds the owner role, in SQL. */
const HOLDS_OWNER = (column: string) => `(',' || replace(${column}, ' ', '') || ',') LIKE '%,${OWNER},%'`;

/** A write stays only when the member was no owner, or another owner of the org remains. */
const ANOTHER_OWNER_REMAINS = `(NOT ${HOLDS_OWNER("role")} OR EXISTS (
  SELECT 1 FROM member other
  WHERE other.organization_id = member.organization_id AND other.id != member.id AND ${HOLDS_OWNER("other.role")}))`;

/**
 * An organization always keeps an owner: only an owner may make another, or
 * delete the org. Better Auth counts the owners, then writes (the
 * organization plugin's update-member-role, remove-member and leave), so two
 * requests that each saw another owner (an owner demoting the other owner
 * and themselves at once, or both owners leaving) both went through and left
 * the org with none. So the write is made here, first, as one conditional
 * statement, which D1 runs alone: of such requests one changes the row and
 * the next finds no other owner, changes nothing and is refused with Better
 * Auth's own code. Better Auth's write after it then finds the row already
 * as it would leave it.
 */
export async function changeRoleKeepingAnOwner(
  db: D1Database,
  memberId: string,
  newRole: string,
  owed: OwedMemberCutoff,
): Promise<void> {
  if (newRole.split(",").some((role) => role.trim() === OWNER)) return;
  if (!(await writeRoleKeepingAnOwner(db, memberId, newRole, owed))) {
    throw APIError.from("BAD_REQUEST", {
      code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
      message: "You cannot leave the organization without an owner",
    });
  }
}

/**
 * Before an owner leaves: Better Auth's leave counts the owners and deletes
 * the row with no organization hook between (so nothing of ours ran inside
 * it), and two owners leaving at once could each count the other and both
 * go. It reads the row after our before hook, so the owner role is taken
 * off the row here, by the same conditional statement: of two owners
 * leaving at once one steps down (and Better Auth's leave then deletes a
 * non-owner), the other finds no other owner and is refused with Better
 * Auth's own leave code, still the owner. A leave that fails after the step
 * down leaves a non-owner member of an org that has another owner.
 */
export async function stepDownBeforeLeaving(db: D1Database, orgId: string, userId: string): Promise<void> {
  const row = await db
    .prepare("SELECT id, role FROM member WHERE organization_id = ?1 AND user_id = ?2")
    .bind(orgId, userId)
    .first<{ id: string; role: string }>();
  const roles = row?.role.split(",").map((role) => role.trim()) ?? [];
  if (!row || !roles.includes(OWNER)) return;
  const remaining = roles.filter((role) => role !== OWNER && role !== "");
  if (!(await writeRoleKeepingAnOwner(db, row.id, remaining.length > 0 ? remaining.join(",") : MEMBER))) {
    throw APIError.from("BAD_REQUEST", {
      code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
      message: "You cannot leave the organization as the only owner",
    });
  }
}

/**
 * The conditional write; false when it was refused (the member is still
 * there, and the last owner). With `owed`, the cut-off the change owes once
 * written goes in the same batch (shared/revocation/owed-member-cutoffs.ts).
 */
async function writeRoleKeepingAnOwner(
  db: D1Database,
  memberId: string,
  newRole: string,
  owed?: OwedMemberCutoff,
): Promise<boolean> {
  const write = db
    .prepare(`UPDATE member SET role = ?1 WHERE id = ?2 AND ${ANOTHER_OWNER_REMAINS}`)
    .bind(newRole, memberId);
  return (await changedOwing(db, write, owed)) || !(await memberExists(db, memberId));
}

/** The same for a member's removal: the row goes here with the cut-off it owes, or the request is refused. */
export async function removeKeepingAnOwner(db: D1Database, memberId: string, owed: OwedMemberCutoff): Promise<void> {
  const write = db.prepare(`DELETE FROM member WHERE id = ?1 AND ${ANOTHER_OWNER_REMAINS}`).bind(memberId);
  if (!(await changedOwing(db, write, owed)) && (await memberExists(db, memberId))) {
    throw APIError.from("BAD_REQUEST", {
      code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
      message: "You cannot leave the organization as the only owner",
    });
  }
}

async function memberExists(db: D1Database, memberId: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM member WHERE id = ?1").bind(memberId).first()) !== null;
}

/** Runs a write, and the owed row only if it changed something, in one D1 batch; whether it changed something. */
async function changedOwing(db: D1Database, write: D1PreparedStatement, owed?: OwedMemberCutoff): Promise<boolean> {
  const [written] = await db.batch(owed ? [write, oweMemberCutoff(db, owed, "if-written")] : [write]);
  return (written?.meta.changes ?? 0) > 0;
}
