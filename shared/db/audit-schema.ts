/**
 * The audit database's schema (D1 `mono-auth-audit`, binding `AUDIT_DB`). It
 * is a database of its own so that a flood of audit events can fill or slow
 * only the audit trail, never the tables sign-in and token issuance need
 * (shared/db/schema.ts). drizzle-kit turns it into migrations/audit/
 * (drizzle.audit.config.ts).
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Audit trail: every gateway decision, token minted or refused, admin action. */
export const auditEvent = sqliteTable(
  "audit_event",
  {
    /** The event id: the write is keyed by it, so a redelivered or replayed event is never stored twice. */
    id: text("id").primaryKey(),
    occurredAt: integer("occurred_at", { mode: "timestamp_ms" }).notNull(),
    orgId: text("org_id"),
    kind: text("kind").notNull(),
    outcome: text("outcome").notNull(),
    subject: text("subject"),
    actor: text("actor"),
    clientId: text("client_id"),
    /** JSON with the event's own fields, capped (shared/audit/caps.ts); never a token, secret or password. */
    detail: text("detail").notNull(),
  },
  (table) => [index("audit_event_org_time_idx").on(table.orgId, table.occurredAt)],
);
