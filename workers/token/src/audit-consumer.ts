import type { AuditRecord } from "../../../shared/audit/audit-record.ts";
import { writeAuditBatch } from "../../../shared/audit/write-audit-batch.ts";

/**
 * The audit Queue's consumer: one D1 batch per delivery. If the write fails
 * the whole batch is retried (the write is idempotent by event id), and
 * after max_retries the Queue keeps the messages visible to operators.
 */
export async function consumeAuditBatch(batch: MessageBatch<AuditRecord>, env: Pick<TokenEnv, "DB">): Promise<void> {
  await writeAuditBatch(
    env.DB,
    batch.messages.map((m) => m.body),
  );
  batch.ackAll();
}
