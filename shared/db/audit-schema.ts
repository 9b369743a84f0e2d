/**
 * The audit database's schema (D1 `mono-auth-audit`, binding `AUDIT_DB`). It
 * is a database of its own so that a flood of audit events can fill or slow
 * only the audit trail, never the tables sign-in and token issuance need
 * (shared/db/schema.ts). drizzle-kit turns it into migrations/audit/
 * (drizzle.audit.config.ts). What each column holds, and how the hash chain
 * is computed and checked: docs/audit.md.
 */
import { PLATFORM_ORG_ID } from "../contracts/tokens.ts";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
    /**
     * The hash chain the row belongs to: its org, or PLATFORM_ORG_ID for
     * events that name no org (shared/audit/chain.ts). The default only
     * covers rows written before chains existed; the writer always sets it.
     */
    chain: text("chain").notNull().default(PLATFORM_ORG_ID),
    /** 1, 2, 3, … within the chain, in the order the consumer wrote them; NULL only for rows older than chains. */
    seq: integer("seq"),
    /** The previous row's `hash` (the genesis hash for seq 1). */
    prevHash: text("prev_hash"),
    /** SHA-256 (hex) of the row's canonical form, prev_hash included (shared/audit/chain.ts). */
    hash: text("hash"),
  },
  (table) => [
    // One row per place in a chain: two writers that chained onto the same
    // head collide here, and the loser's whole batch rolls back and retries.
    uniqueIndex("audit_event_chain_seq_uq").on(table.chain, table.seq),
    index("audit_event_chain_time_idx").on(table.chain, table.occurredAt),
    index("audit_event_subject_time_idx").on(table.subject, table.occurredAt),
    index("audit_event_time_idx").on(table.occurredAt),
  ],
);

/**
 * The newest link of each chain, written in the same transaction as the
 * rows. A row deleted from the end of a chain leaves the head pointing past
 * it, so even a truncated tail shows (workers/token/src/audit/verify-chain.ts).
 */
export const auditChainHead = sqliteTable("audit_chain_head", {
  chain: text("chain").primaryKey(),
  seq: integer("seq").notNull(),
  hash: text("hash").notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  /**
   * HMAC-SHA256 (hex) of the head, keyed from the token Worker's secret
   * (shared/audit/chain.ts, headMac): without it, rows deleted from the end
   * and the head set back to the new last row needed no hash recomputed.
   * Null on heads not written since migration 0003.
   */
  mac: text("mac"),
});
