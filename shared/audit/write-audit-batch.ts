import { drizzle } from "drizzle-orm/d1";
import { auditEvent } from "../db/audit-schema.ts";
import type { AuditRecord } from "./audit-record.ts";

/** D1 caps bound parameters per statement; 9 columns × 10 rows stays under it. */
const ROWS_PER_STATEMENT = 10;

/**
 * Writes a batch of audit records to the audit database in one D1 round
 * trip (one transaction). It is keyed by event id: Queues deliver at least
 * once and the dead-letter queue replays, so an id already written is
 * skipped, never duplicated.
 */
export async function writeAuditBatch(db: D1Database, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const orm = drizzle(db);
  const statements = [];
  for (let i = 0; i < records.length; i += ROWS_PER_STATEMENT) {
    const rows = records.slice(i, i + ROWS_PER_STATEMENT).map((r) => ({ ...r, occurredAt: new Date(r.occurredAt) }));
    statements.push(orm.insert(auditEvent).values(rows).onConflictDoNothing());
  }
  const [first, ...rest] = statements;
  if (first) await orm.batch([first, ...rest]);
}
