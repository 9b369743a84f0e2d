import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * People a platform operator banned (`mono-auth user ban`, admin API
 * POST /users/{id}/ban). A banned person cannot start a session (the authn
 * Worker's session hook refuses it) and is no console caller; the ban
 * itself ended their sessions and revoked their tokens in every org.
 */
/**
 * `banned_by` of the ban an org's directory holds on a person it
 * deactivated (SCIM, `scim:<org id>`), as against a platform operator's:
 * the one row a person has is the operator's whenever both hold one, and
 * each side lifts only its own (workers/authn/src/scim/deprovision.ts,
 * workers/token/src/admin/users.ts).
 */
export const SCIM_BAN_PREFIX = "scim:";

/** The `reason` of a directory's ban, written by SCIM and by an operator's unban that puts it back. */
export const SCIM_BAN_REASON = "deactivated by the organization's directory (SCIM)";

export const userBan = sqliteTable("user_ban", {
  userId: text("user_id").primaryKey(),
  reason: text("reason").notNull(),
  /** The operator (client id or person) who banned them. */
  bannedBy: text("banned_by").notNull(),
  bannedAt: integer("banned_at", { mode: "timestamp_ms" }).notNull(),
});
