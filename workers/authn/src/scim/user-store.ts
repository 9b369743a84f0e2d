/**
 * The SCIM User rows of one org and the Better Auth rows under them. Every
 * write is one D1 `batch()`, which D1 runs as one transaction: the user, its
 * membership and its SCIM row land together or not at all. Uniqueness (the
 * org's userName, case-insensitive; the account's email across the
 * deployment) is decided by the unique indexes inside that batch, so of two
 * directories' concurrent creates exactly one commits and the other is a
 * 409 `uniqueness` (RFC 7644 §3.3).
 */
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { member, scimGroup, scimGroupMember, scimUser, user } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import { deactivationBan, liftDeactivationBan } from "./deprovision.ts";
import { filterSql, type OperandSchema } from "./filter-sql.ts";
import type { ListQuery } from "./query.ts";
import { betterAuthName, type StoredUser, type UserState, type UserView } from "./resources.ts";

/**
 * What a list filter may compare (filter.ts, filter-sql.ts): userName is
 * caseExact false (RFC 7643 §4.1.1), so compared by its lower-cased key;
 * the account's address is stored lower-cased (emails' `value` is caseExact
 * false, §4.1.2) and is the User's one email, always `work` and primary
 * (resources.ts userResource); `id` and `externalId` are caseExact (§3.1).
 */
export const USER_FILTERS: OperandSchema = {
  userName: { type: "string", column: scimUser.userNameKey, fold: true },
  externalId: { type: "string", column: scimUser.externalId },
  id: { type: "string", column: scimUser.userId },
  emails: {
    subAttributes: {
      value: { type: "string", column: user.email, fold: true },
      type: { type: "string", constant: "work" },
      primary: { type: "boolean", constant: true },
    },
  },
};

const columns = {
  id: scimUser.userId,
  userName: scimUser.userName,
  externalId: scimUser.externalId,
  givenName: scimUser.givenName,
  familyName: scimUser.familyName,
  displayName: scimUser.displayName,
  active: scimUser.active,
  createdAt: scimUser.createdAt,
  updatedAt: scimUser.updatedAt,
  email: user.email,
};

function filterCondition(orgId: string, query: ListQuery) {
  const inOrg = eq(scimUser.orgId, orgId);
  return query.filter ? and(inOrg, filterSql(query.filter, USER_FILTERS)) : inOrg;
}

/** Each person's groups, in one query for the whole page. */
async function withGroups(db: DrizzleD1Database, rows: Omit<StoredUser, "groups">[]): Promise<StoredUser[]> {
  if (rows.length === 0) return [];
  const memberships = await db
    .select({ userId: scimGroupMember.userId, id: scimGroup.id, displayName: scimGroup.displayName })
    .from(scimGroupMember)
    .innerJoin(scimGroup, eq(scimGroup.id, scimGroupMember.groupId))
    .where(
      inArray(
        scimGroupMember.userId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(scimGroup.displayNameKey))
    .all();
  return rows.map((row) => ({
    ...row,
    groups: memberships.filter((m) => m.userId === row.id).map(({ id, displayName }) => ({ id, displayName })),
  }));
}

/** Or 404: a User of another org is, to this org's directory, no User at all. */
async function requireUserRow(db: DrizzleD1Database, orgId: string, id: string): Promise<UserView> {
  const row = await db
    .select(columns)
    .from(scimUser)
    .innerJoin(user, eq(user.id, scimUser.userId))
    .where(and(eq(scimUser.orgId, orgId), eq(scimUser.userId, id)))
    .get();
  if (!row) throw new ScimError("not_found", "no such User");
  return row;
}

/** The User and their groups, as a write starts from (users.ts changeUser); or 404 as requireUserRow. */
export async function requireUser(db: DrizzleD1Database, orgId: string, id: string): Promise<StoredUser> {
  const [found] = await withGroups(db, [await requireUserRow(db, orgId, id)]);
  if (!found) throw new ScimError("not_found", "no such User");
  return found;
}

/**
 * The User an answer shows; `groups`: whether the answer returns them
 * (attribute-projection.ts returnsAttribute). RFC 7644 §3.4.2.5 lets a
 * client leave them out (`excludedAttributes=groups`, or `attributes=`
 * naming none): their memberships are then not read at all rather than
 * read and dropped by the projection.
 */
export async function userAnswer(db: DrizzleD1Database, orgId: string, id: string, groups: boolean): Promise<UserView> {
  return groups ? requireUser(db, orgId, id) : requireUserRow(db, orgId, id);
}

/** A page of the org's Users; `groups` as for userAnswer. */
export async function listUsers(
  db: DrizzleD1Database,
  orgId: string,
  query: ListQuery,
  groups: boolean,
): Promise<{ users: UserView[]; total: number }> {
  const where = filterCondition(orgId, query);
  const [rows, total] = await db.batch([
    db
      .select(columns)
      .from(scimUser)
      .innerJoin(user, eq(user.id, scimUser.userId))
      .where(where)
      .orderBy(asc(scimUser.createdAt), asc(scimUser.userId))
      .limit(query.count)
      .offset(query.startIndex - 1),
    db.select({ n: count() }).from(scimUser).innerJoin(user, eq(user.id, scimUser.userId)).where(where),
  ]);
  return { users: groups ? await withGroups(db, rows) : rows, total: total[0]?.n ?? 0 };
}

function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes("UNIQUE constraint failed")) return true;
  }
  return false;
}

const USER_TAKEN = "a User with this userName or email already exists";

/** Runs a batch; a unique index's refusal is the 409 `uniqueness` of RFC 7644 §3.3 and §3.5.1. */
export async function uniquely<T>(write: () => Promise<T>, detail = USER_TAKEN): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ScimError("uniqueness", detail);
    throw error;
  }
}

/**
 * A new person: a Better Auth user, a `member` membership, and the SCIM row,
 * in one batch. An existing account with the same email is never linked:
 * that person may belong to other orgs, which this org's directory must not
 * reach (GHSA-j8v8-g9cx-5qf4).
 *
 * The address is stored verified. A directory provisions only inside a
 * domain its org proved by DNS (scim/org-domains.ts), and the org that
 * proved it runs that domain's mail, its IdP and this directory: the org's
 * word for its own address is all that any later proof could add (a reset
 * link reaches a mailbox the org runs; its IdP's sign-in is the org's word
 * again). Stored unverified, the account could never take the org's own
 * SSO sign-in (Better Auth links an existing account only when its address
 * is verified), which is the point of provisioning. Nobody else can have set
 * anything up in it before its person arrives, which is what the reset rule
 * for unconfirmed accounts guards against (security/unproven-account-reset.ts):
 * no session is made here, and no outside identity but the org's own SSO is
 * ever linked to it (sso/directory-accounts.ts), so a confirmed account's
 * reset, which keeps its factors, keeps nothing a stranger put there. A
 * rename keeps whatever the account was (updateUser).
 */
export async function insertUser(db: DrizzleD1Database, orgId: string, state: UserState): Promise<string> {
  const id = crypto.randomUUID();
  const now = new Date();
  await uniquely(() =>
    db.batch([
      db.insert(user).values({
        id,
        name: betterAuthName(state),
        email: state.email,
        emailVerified: true,
        createdAt: now,
        updatedAt: now,
      }),
      db
        .insert(member)
        .values({ id: crypto.randomUUID(), organizationId: orgId, userId: id, role: "member", createdAt: now }),
      db.insert(scimUser).values({ userId: id, orgId, ...scimColumns(state), createdAt: now, updatedAt: now }),
      ...(state.active ? [] : [deactivationBan(db, orgId, id, now)]),
    ]),
  );
  return id;
}

/**
 * The person's next state (PUT or PATCH), in one batch; the caller ends their
 * access if inactive afterwards. A new address leaves `emailVerified` as it was: the
 * caller has held both addresses to the org's verified domains
 * (org-domains.ts requireOrgRename), so the directory's word for the new one
 * is what it was for the old. Stored unverified, a directory-managed account
 * became "unconfirmed", and its person's next reset cleared their own
 * passkeys, second factor and API keys (security/unproven-account-reset.ts).
 * Nor does a rename verify an account that was not: one its owner adopted
 * before directories were held to their domains (migration 0015 left those
 * unverified) must not become linkable by the org's SSO through a rename.
 * Sessions and linked identities stay: the person is the same person, the
 * session holds no address, and the org's SSO identity is linked by the
 * IdP's subject (sso/directory-accounts.ts checks the new address is in the
 * provider's domain on the next link).
 */
export async function updateUser(
  db: DrizzleD1Database,
  orgId: string,
  current: StoredUser,
  next: UserState,
  activeNamed = true,
): Promise<boolean> {
  // Strictly later than what was read, even within one millisecond: `unchanged` never holds again.
  const now = new Date(Math.max(Date.now(), current.updatedAt.getTime() + 1));
  // `active` and the ban are written only when the request names them: a
  // change to anything else, read before a deactivation that landed while
  // it was in flight, wrote back the `active` it had read and lifted the
  // directory's ban, silently bringing the person back.
  const { active, ...columns } = scimColumns(next);
  // Every statement holds only while the person's row is as `current` was read; the row's own
  // update comes last and moves `updated_at`, so a write that read before another landed writes
  // nothing (the caller reads again: users.ts changeUser).
  const unchanged = sql`(select ${scimUser.updatedAt} from ${scimUser}
    where ${scimUser.orgId} = ${orgId} and ${scimUser.userId} = ${current.id}) = ${current.updatedAt.getTime()}`;
  const results = await uniquely(() =>
    db.batch([
      db
        .update(user)
        .set({
          name: betterAuthName(next),
          email: next.email,
          updatedAt: now,
        })
        .where(and(eq(user.id, current.id), unchanged)),
      ...(activeNamed
        ? [
            next.active
              ? liftDeactivationBan(db, current.id, unchanged)
              : deactivationBan(db, orgId, current.id, now, unchanged),
          ]
        : []),
      db
        .update(scimUser)
        .set({ ...columns, ...(activeNamed ? { active } : {}), updatedAt: now })
        .where(
          and(eq(scimUser.orgId, orgId), eq(scimUser.userId, current.id), eq(scimUser.updatedAt, current.updatedAt)),
        )
        .returning({ id: scimUser.userId }),
    ]),
  );
  return (results.at(-1) as unknown[]).length === 1;
}

function scimColumns(state: UserState) {
  return {
    userName: state.userName,
    userNameKey: state.userName.toLowerCase(),
    externalId: state.externalId,
    givenName: state.givenName,
    familyName: state.familyName,
    displayName: state.displayName,
    active: state.active,
  };
}
