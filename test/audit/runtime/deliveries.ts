// Deliveries to the audit Queue's consumer, made in the runtime with the
// real consumer and the real audit database, and what they leave behind.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AuditRecord } from "../../../shared/audit/audit-record.ts";
import { consumeAuditBatch } from "../../../workers/token/src/audit-consumer.ts";

/** An event of an org (or of none), as a producer would have queued it. */
export function auditRecord(orgId: string | null, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: crypto.randomUUID(),
    occurredAt: Date.now(),
    orgId,
    kind: "gateway.decision",
    outcome: "allow",
    subject: "user-1",
    actor: null,
    clientId: "c",
    detail: JSON.stringify({ path: "/api/documents" }),
    ...overrides,
  };
}

export function messages(bodies: readonly unknown[]) {
  return bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body }));
}

/** One delivery of these bodies to the consumer, on the named queue; what it acked and retried. */
export async function deliver(
  queue: string,
  bodies: readonly unknown[],
  target: Pick<TokenEnv, "AUDIT_DB" | "KEY_ENCRYPTION_SECRET"> = env,
) {
  const batch = createMessageBatch<unknown>(queue, messages(bodies));
  const ctx = createExecutionContext();
  await consumeAuditBatch(batch, target);
  return getQueueResult(batch, ctx);
}

export interface ChainRow {
  id: string;
  occurred_at: number;
  org_id: string | null;
  kind: string;
  outcome: string;
  subject: string | null;
  actor: string | null;
  client_id: string | null;
  detail: string;
  chain: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

/** A chain's rows in seq order. */
export async function chainRows(chain: string): Promise<ChainRow[]> {
  const { results } = await env.AUDIT_DB.prepare("SELECT * FROM audit_event WHERE chain = ? ORDER BY seq")
    .bind(chain)
    .all<ChainRow>();
  return results;
}

export async function chainHead(chain: string): Promise<{ seq: number; hash: string } | null> {
  return env.AUDIT_DB.prepare("SELECT seq, hash FROM audit_chain_head WHERE chain = ?")
    .bind(chain)
    .first<{ seq: number; hash: string }>();
}
