import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * People a platform operator banned (`mono-auth user ban`, admin API
 * POST /users/{id}/ban). A banned person cannot start a session (the authn
 * Worker's session hook refuses it) and is no console caller; the ban
 * itself ended their sessions and revoked their tokens in every org.
 */
export const userBan = sqliteTable("user_ban", {
  userId: text("user_id").primaryKey(),
  reason: text("reason").notNull(),
  /** The operator (client id or person) who banned them. */
  bannedBy: text("banned_by").notNull(),
  bannedAt: integer("banned_at", { mode: "timestamp_ms" }).notNull(),
});
