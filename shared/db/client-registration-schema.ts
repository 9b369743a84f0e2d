import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Per org: whether MCP clients may register themselves by RFC 7591 Dynamic
 * Client Registration at `<ENDPOINT.clientRegistration>/<org>`
 * (workers/token/src/oidc/client-registration.ts). No row: off, the default
 * (the MCP authorization spec deprecates DCR; GHSA-9h47-pqcx-hjr4 is what
 * open registration costs). Written by the org's admins through the admin
 * API (workers/token/src/admin/client-registration.ts).
 */
export const orgClientRegistration = sqliteTable("org_client_registration", {
  orgId: text("org_id").primaryKey(),
  dynamicRegistration: integer("dynamic_registration", { mode: "boolean" }).notNull().default(false),
  /** Who set it last (the admin's subject). */
  updatedBy: text("updated_by").notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});
