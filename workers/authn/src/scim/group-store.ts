/**
 * The SCIM Group rows of one org. Each change is one D1 `batch()`: the
 * group row, its member rows and the role projection (scim/roles.ts) land
 * together. Members are inserted with INSERT … SELECT from the org's own
 * `scim_user` rows, so even an id that raced in from elsewhere can never
 * put another org's person in this org's group (GHSA-j8v8-g9cx-5qf4); the
 * read before the batch only turns an unknown id into a clear 400.
 */
import { and, asc, count, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { scimGroup, scimGroupMember, scimUser } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import { clearOwedMemberCutoffs } from "../../../../shared/revocation/owed-member-cutoffs.ts";
import { orUnavailable } from "./deprovision.ts";
import { filterSql, type OperandSchema } from "./filter-sql.ts";
import type { ListQuery } from "./query.ts";
import { type GroupState, type GroupView, groupTooLarge, MAX_GROUP_MEMBERS, type StoredGroup } from "./resources.ts";
import {
  currentRoles,
  oweChangedRoles,
  projectRoles,
  type RoleChange,
  revokeChangedRoles,
  revokeRoles,
  rolesMayChange,
} from "./roles.ts";
import { uniquely } from "./user-store.ts";

/**
 * What a list filter may compare (filter.ts): displayName is caseExact
 * false (RFC 7643 §4.2), `id` and `externalId` caseExact (§3.1). `members`
 * (its `value`, a User id, caseExact) is there for Microsoft Entra, which
 * checks a membership with `id eq "…" and members eq "…"` before a PATCH:
 * an EXISTS over the group's member rows, which hold only this org's
 * people (insertMembers), as the Group row itself is this org's.
 */
export const GROUP_FILTERS: OperandSchema = {
  displayName: { type: "string", column: scimGroup.displayNameKey, fold: true },
  externalId: { type: "string", column: scimGroup.externalId },
  id: { type: "string", column: scimGroup.id },
  members: {
    bare: "value",
    // A membership row holds the member's User id only; `display` (their userName now), `$ref` and
    // `type` are derived for answers, and neither Entra nor Okta filters on them (docs/endpoints.md).
    why: 'members are matched by User id (members eq "…")',
    subAttributes: {
      value: {
        type: "string",
        column: scimGroupMember.userId,
        // ne would read as "has someone else" where a directory means "is not a member"; co/sw/ew on an opaque id find nobody meant.
        only: { operators: ["eq"], why: 'members are matched by User id; not (members eq "…") for a non-member' },
      },
    },
    rows: (condition) =>
      sql`exists (select 1 from ${scimGroupMember} where ${scimGroupMember.groupId} = ${scimGroup.id} and ${condition})`,
  },
};

const GROUP_TAKEN = "a Group with this displayName already exists";

const columns = {
  id: scimGroup.id,
  displayName: scimGroup.displayName,
  externalId: scimGroup.externalId,
  createdAt: scimGroup.createdAt,
  updatedAt: scimGroup.updatedAt,
};

type GroupRow = Omit<StoredGroup, "members" | "memberIds">;

/** Each group's members, in one query for the whole page. */
async function withMembers(db: DrizzleD1Database, rows: GroupRow[]): Promise<StoredGroup[]> {
  if (rows.length === 0) return [];
  const members = await db
    .select({ groupId: scimGroupMember.groupId, id: scimUser.userId, userName: scimUser.userName })
    .from(scimGroupMember)
    .innerJoin(scimUser, eq(scimUser.userId, scimGroupMember.userId))
    .where(
      inArray(
        scimGroupMember.groupId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(scimUser.userNameKey))
    .all();
  return rows.map((row) => {
    const own = members.filter((m) => m.groupId === row.id).map(({ id, userName }) => ({ id, userName }));
    return { ...row, members: own, memberIds: own.map((m) => m.id) };
  });
}

async function requireGroupRow(db: DrizzleD1Database, orgId: string, id: string): Promise<GroupRow> {
  const row = await db
    .select(columns)
    .from(scimGroup)
    .where(and(eq(scimGroup.orgId, orgId), eq(scimGroup.id, id)))
    .get();
  if (!row) throw new ScimError("not_found", "no such Group");
  return row;
}

/** The Group and all its members, as a write starts from (changeGroup). */
export async function requireGroup(db: DrizzleD1Database, orgId: string, id: string): Promise<StoredGroup> {
  const [found] = await withMembers(db, [await requireGroupRow(db, orgId, id)]);
  if (!found) throw new ScimError("not_found", "no such Group");
  return found;
}

/**
 * The Group an answer shows; `members`: whether the answer returns them
 * (attribute-projection.ts returnsAttribute). RFC 7644 §3.4.2.5 lets a
 * client leave them out, and Microsoft Entra does on every lookup
 * (`excludedAttributes=members`): its member rows, up to MAX_GROUP_MEMBERS,
 * are then not read at all rather than read and dropped.
 */
export async function groupAnswer(
  db: DrizzleD1Database,
  orgId: string,
  id: string,
  members: boolean,
): Promise<GroupView> {
  return members ? requireGroup(db, orgId, id) : requireGroupRow(db, orgId, id);
}

/** A page of the org's Groups; `members` as for groupAnswer. */
export async function listGroups(
  db: DrizzleD1Database,
  orgId: string,
  query: ListQuery,
  members: boolean,
): Promise<{ groups: GroupView[]; total: number }> {
  const inOrg = eq(scimGroup.orgId, orgId);
  const where = query.filter ? and(inOrg, filterSql(query.filter, GROUP_FILTERS)) : inOrg;
  const [rows, total] = await db.batch([
    db
      .select(columns)
      .from(scimGroup)
      .where(where)
      .orderBy(asc(scimGroup.createdAt), asc(scimGroup.id))
      .limit(query.count)
      .offset(query.startIndex - 1),
    db.select({ n: count() }).from(scimGroup).where(where),
  ]);
  return { groups: members ? await withMembers(db, rows) : rows, total: total[0]?.n ?? 0 };
}

/**
 * D1 binds at most 100 parameters per statement: ids go in slices that
 * leave room for the others (org, group, time). The slices of one write are
 * statements of the same batch, so the write stays one transaction.
 */
const IDS_PER_STATEMENT = 90;

function slices(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) out.push(ids.slice(i, i + IDS_PER_STATEMENT));
  return out;
}

/**
 * 400 `invalidValue` for a write that would grow the Group past
 * MAX_GROUP_MEMBERS (resources.ts), decided on the state it is written
 * over: a PATCH names only the members it adds, so a directory's pages of
 * `add`s each passed the per-write cap and grew a Group without limit,
 * whose DELETE or rename then changed every member's role in one write.
 * `current` is what the write holds only while it is unchanged
 * (stillAsRead), so two concurrent PATCHes cannot each add up to the cap:
 * the one that loses reads the winner's members and is refused. A Group
 * past the cap from before it was enforced may still shrink, or the
 * directory could never bring it under.
 */
function requireWithinCap(current: StoredGroup | undefined, next: GroupState): void {
  const size = next.memberIds.length;
  if (size > MAX_GROUP_MEMBERS && size > (current?.memberIds.length ?? 0)) throw groupTooLarge();
}

/** 400 `invalidValue` unless every id is a User of this org's directory. */
async function requireOwnUsers(db: DrizzleD1Database, orgId: string, ids: string[]): Promise<void> {
  let found = 0;
  for (const slice of slices(ids)) {
    const [row] = await db
      .select({ n: count() })
      .from(scimUser)
      .where(and(eq(scimUser.orgId, orgId), inArray(scimUser.userId, slice)));
    found += row?.n ?? 0;
  }
  if (found !== ids.length) {
    throw new ScimError("invalidValue", "every member must be a User of this organization's directory");
  }
}

function insertMembers(
  db: DrizzleD1Database,
  orgId: string,
  groupId: string,
  ids: string[],
  now: Date,
  unchanged: SQL | undefined,
) {
  return db
    .insert(scimGroupMember)
    .select(
      db
        .select({
          groupId: sql<string>`${groupId}`.as("group_id"),
          userId: scimUser.userId,
          createdAt: sql<Date>`${now.getTime()}`.as("created_at"),
        })
        .from(scimUser)
        .where(and(eq(scimUser.orgId, orgId), inArray(scimUser.userId, ids), unchanged)),
    )
    .onConflictDoNothing();
}

/**
 * SQL true while the group's row is still as `current` was read: its
 * `updated_at`, which every write of an existing group moves strictly
 * forward (writeGroup), so a value once left is never seen again.
 */
function stillAsRead(orgId: string, current: StoredGroup): SQL {
  return sql`(select ${scimGroup.updatedAt} from ${scimGroup}
    where ${scimGroup.orgId} = ${orgId} and ${scimGroup.id} = ${current.id}) = ${current.updatedAt.getTime()}`;
}

/** Attempts at a change of one group before the directory is asked to retry (changeGroup). */
const MAX_GROUP_WRITE_ATTEMPTS = 16;

/**
 * Changes an existing group (PUT, PATCH, DELETE: `change` answers its next
 * state from its current one, undefined to delete it) as one serializable
 * step. Directories send a large group's membership changes as concurrent
 * PATCHes, each naming only the members it adds or removes; written as a
 * whole new state computed from a read another PATCH had already
 * overtaken, each undid the others' changes, and a person a directory took
 * out of the `admin` Group stayed in it, an org admin. So each write holds
 * only if the group is still as it was read (stillAsRead), and one that
 * lost to another reads the group again and applies its change to what
 * that one left. 404 if the group is gone; 503 `unavailable` (the
 * directory retries) if it keeps losing.
 */
export async function changeGroup(
  env: AuthnEnv,
  orgId: string,
  id: string,
  change: (current: StoredGroup) => GroupState | undefined,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    const current = await requireGroup(drizzle(env.DB), orgId, id);
    if (await writeGroup(env, orgId, id, current, change(current))) return;
  }
  throw new ScimError("unavailable", "the Group kept changing while this request was written; try again");
}

/**
 * Writes a group's next state (`current` undefined: a new group; `next`
 * undefined: deleted) with its role projection, revoking the tokens of
 * everyone whose role it may change before it and of everyone whose role
 * changed after it. For an existing group every statement holds only while
 * the group is as `current` was read (stillAsRead); answers false when
 * another write came first and nothing of this one was written
 * (changeGroup reads and tries again).
 */
export async function writeGroup(
  env: AuthnEnv,
  orgId: string,
  id: string,
  current: StoredGroup | undefined,
  next: GroupState | undefined,
): Promise<boolean> {
  const db = drizzle(env.DB);
  if (next) {
    requireWithinCap(current, next);
    await requireOwnUsers(db, orgId, next.memberIds);
  }
  const affected = [...new Set([...(current?.memberIds ?? []), ...(next?.memberIds ?? [])])];
  const before: RoleChange[] = [];
  for (const slice of slices(affected)) before.push(...(await currentRoles(db, orgId, slice).all()));
  // Before the write (a failure changes nothing) and after it (scim/roles.ts).
  await orUnavailable(() => revokeRoles(env, orgId, rolesMayChange(current, next, before)));
  // Strictly later than what was read, even within one millisecond: stillAsRead never sees it again.
  const now = new Date(Math.max(Date.now(), (current?.updatedAt.getTime() ?? 0) + 1));
  const unchanged = current ? stillAsRead(orgId, current) : undefined;
  const asRead = current ? eq(scimGroup.updatedAt, current.updatedAt) : undefined;
  const group = next
    ? current
      ? db
          .update(scimGroup)
          .set({
            displayName: next.displayName,
            displayNameKey: next.displayName.toLowerCase(),
            externalId: next.externalId,
            updatedAt: now,
          })
          .where(and(eq(scimGroup.orgId, orgId), eq(scimGroup.id, id), asRead))
          .returning({ id: scimGroup.id })
      : db
          .insert(scimGroup)
          .values({
            id,
            orgId,
            displayName: next.displayName,
            displayNameKey: next.displayName.toLowerCase(),
            externalId: next.externalId,
            createdAt: now,
            updatedAt: now,
          })
          .returning({ id: scimGroup.id })
    : db
        .delete(scimGroup)
        .where(and(eq(scimGroup.orgId, orgId), eq(scimGroup.id, id), asRead))
        .returning({ id: scimGroup.id });
  const members = [
    ...(current && next ? [db.delete(scimGroupMember).where(and(eq(scimGroupMember.groupId, id), unchanged))] : []),
    ...slices(next?.memberIds ?? []).map((slice) => insertMembers(db, orgId, id, slice, now, unchanged)),
  ];
  // A new group's row first (its members reference it); an existing one's last of the writes, as the
  // statements before it hold only while it is unchanged.
  const writes: BatchItem<"sqlite">[] = current ? [...members, group] : [group, ...members];
  // Last in the batch, so each reads the group rows as the statements before it left them.
  const projections = slices(affected).map((slice) => projectRoles(db, orgId, slice));
  // After the projections: it reads the roles they left.
  const owed = oweChangedRoles(db, orgId, before);
  // Never empty: it holds the group's own statement.
  const statements = [...writes, ...projections] as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
  statements.push(owed.statement);
  const results = await uniquely(() => db.batch(statements), GROUP_TAKEN);
  const written = (results[current ? members.length : 0] as unknown[]).length === 1;
  const after = results.slice(writes.length, writes.length + projections.length).flat() as RoleChange[];
  // Even when another write came first: the projection may still have set a role (one changed outside SCIM).
  await orUnavailable(() => revokeChangedRoles(env, orgId, before, after));
  await clearOwedMemberCutoffs(env.DB, owed.ids).catch((error: unknown) => {
    // Recorded: a row left only means the cron records it once more.
    console.error("owed SCIM role cut-offs recorded but not cleared", orgId, error);
  });
  return written;
}
