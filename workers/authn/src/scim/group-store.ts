/**
 * The SCIM Group rows of one org. Each change is one D1 `batch()`: the
 * group row, its member rows and the role projection (scim/roles.ts) land
 * together. Members are inserted with INSERT … SELECT from the org's own
 * `scim_user` rows, so even an id that raced in from elsewhere can never
 * put another org's person in this org's group (GHSA-j8v8-g9cx-5qf4); the
 * read before the batch only turns an unknown id into a clear 400.
 */
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { scimGroup, scimGroupMember, scimUser } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import { orUnavailable } from "./deprovision.ts";
import type { ListQuery } from "./query.ts";
import type { GroupState, StoredGroup } from "./resources.ts";
import {
  currentRoles,
  projectRoles,
  type RoleChange,
  revokeChangedRoles,
  revokeRoles,
  rolesMayChange,
} from "./roles.ts";
import { uniquely } from "./user-store.ts";

export const GROUP_FILTERS: Readonly<Record<string, string>> = {
  displayname: "displayName",
  externalid: "externalId",
  id: "id",
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

export async function requireGroup(db: DrizzleD1Database, orgId: string, id: string): Promise<StoredGroup> {
  const row = await db
    .select(columns)
    .from(scimGroup)
    .where(and(eq(scimGroup.orgId, orgId), eq(scimGroup.id, id)))
    .get();
  const found = row ? (await withMembers(db, [row]))[0] : undefined;
  if (!found) throw new ScimError("not_found", "no such Group");
  return found;
}

export async function listGroups(db: DrizzleD1Database, orgId: string, query: ListQuery) {
  const f = query.filter;
  const inOrg = eq(scimGroup.orgId, orgId);
  const where = !f
    ? inOrg
    : f.attribute === "displayName"
      ? and(inOrg, eq(scimGroup.displayNameKey, f.value.toLowerCase()))
      : f.attribute === "externalId"
        ? and(inOrg, eq(scimGroup.externalId, f.value))
        : and(inOrg, eq(scimGroup.id, f.value));
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
  return { groups: await withMembers(db, rows), total: total[0]?.n ?? 0 };
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

function insertMembers(db: DrizzleD1Database, orgId: string, groupId: string, ids: string[], now: Date) {
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
        .where(and(eq(scimUser.orgId, orgId), inArray(scimUser.userId, ids))),
    )
    .onConflictDoNothing();
}

/**
 * Writes a group's next state (`current` undefined: a new group; `next`
 * undefined: deleted) with its role projection, revoking the tokens of
 * everyone whose role it may change before it and of everyone whose role
 * changed after it.
 */
export async function writeGroup(
  env: AuthnEnv,
  orgId: string,
  id: string,
  current: StoredGroup | undefined,
  next: GroupState | undefined,
): Promise<void> {
  const db = drizzle(env.DB);
  if (next) await requireOwnUsers(db, orgId, next.memberIds);
  const affected = [...new Set([...(current?.memberIds ?? []), ...(next?.memberIds ?? [])])];
  const before: RoleChange[] = [];
  for (const slice of slices(affected)) before.push(...(await currentRoles(db, orgId, slice).all()));
  // Before the write (a failure changes nothing) and after it (scim/roles.ts).
  await orUnavailable(() => revokeRoles(env, orgId, rolesMayChange(current, next, before)));
  const now = new Date();
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
          .where(and(eq(scimGroup.orgId, orgId), eq(scimGroup.id, id)))
      : db.insert(scimGroup).values({
          id,
          orgId,
          displayName: next.displayName,
          displayNameKey: next.displayName.toLowerCase(),
          externalId: next.externalId,
          createdAt: now,
          updatedAt: now,
        })
    : db.delete(scimGroup).where(and(eq(scimGroup.orgId, orgId), eq(scimGroup.id, id)));
  const members = [
    ...(current && next ? [db.delete(scimGroupMember).where(eq(scimGroupMember.groupId, id))] : []),
    ...slices(next?.memberIds ?? []).map((slice) => insertMembers(db, orgId, id, slice, now)),
  ];
  // Last in the batch, so each reads the group rows as the statements before it left them.
  const projections = slices(affected).map((slice) => projectRoles(db, orgId, slice));
  const results = await uniquely(() => db.batch([group, ...members, ...projections]), GROUP_TAKEN);
  const after = results.slice(1 + members.length).flat() as RoleChange[];
  await orUnavailable(() => revokeChangedRoles(env, orgId, before, after));
}
