/**
 * SCIM 2.0 provisioning (RFC 7643/7644; workers/authn/src/scim/). Every row
 * belongs to one organization: a SCIM token reaches only its org's rows, and
 * a SCIM user is a Better Auth user this org's directory created (never one
 * that existed before it, so one org's directory cannot rename, deactivate
 * or delete a person another org also has). Each write is one D1 `batch()`
 * (atomic); uniqueness is enforced by the indexes below, so two directories
 * racing for one userName cannot both win.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { organization, user } from "./auth-schema.ts";

/** Bearer tokens of one org's directory (shown once; only the hash is kept). */
export const scimToken = sqliteTable(
  "scim_token",
  {
    /** `sct_` + 22 random base64url characters; also the token's prefix, so a request finds its row. */
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organization.id, { onDelete: "cascade" }),
    /** shared/crypto/secret-hash.ts hashSecret() of the whole token. */
    tokenHash: text("token_hash").notNull(),
    description: text("description"),
    /** The platform operator client or the org owner/admin who created it. */
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /** Null: no expiry (a directory's credential is rotated by creating a new one and deleting the old). */
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
  },
  // The admin API's pages of an org's SCIM tokens (migration 0028), and every read by org alone.
  (table) => [index("scim_token_org_created").on(table.orgId, table.createdAt, table.id)],
);

/** A person the org's directory provisioned: the SCIM User resource over a Better Auth user and membership. */
export const scimUser = sqliteTable(
  "scim_user",
  {
    /** The Better Auth user id, which is also the SCIM resource `id`. */
    userId: text("user_id")
      .primaryKey()
      .references(() => user.id, { onDelete: "cascade" }),
    orgId: text("org_id")
      .notNull()
      .references(() => organization.id, { onDelete: "cascade" }),
    userName: text("user_name").notNull(),
    /** userName lower-cased: RFC 7643 §4.1.1 makes userName case-insensitive (`caseExact: false`). */
    userNameKey: text("user_name_key").notNull(),
    externalId: text("external_id"),
    givenName: text("given_name"),
    familyName: text("family_name"),
    displayName: text("display_name"),
    active: integer("active", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [uniqueIndex("scim_user_org_user_name").on(table.orgId, table.userNameKey)],
);

/** A SCIM Group of one org; see workers/authn/src/scim/roles.ts for how it maps onto member roles. */
export const scimGroup = sqliteTable(
  "scim_group",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organization.id, { onDelete: "cascade" }),
    displayName: text("display_name").notNull(),
    displayNameKey: text("display_name_key").notNull(),
    externalId: text("external_id"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [uniqueIndex("scim_group_org_display_name").on(table.orgId, table.displayNameKey)],
);

export const scimGroupMember = sqliteTable(
  "scim_group_member",
  {
    groupId: text("group_id")
      .notNull()
      .references(() => scimGroup.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => scimUser.userId, { onDelete: "cascade" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.groupId, table.userId] }), index("scim_group_member_user").on(table.userId)],
);
