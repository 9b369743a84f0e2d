import { type AuditRecord, auditRecordsOf } from "../../../shared/audit/audit-record.ts";
import { capString } from "../../../shared/audit/caps.ts";
import { AUDIT_DEAD_LETTER_QUEUE_NAME } from "../../../shared/audit/queues.ts";
import { type WriteReport, writeAuditBatch } from "../../../shared/audit/write-audit-batch.ts";
import { auditHeadKey } from "./audit/head-key.ts";

/** The `event` fields of the consumer's structured log lines. */
export const CONSUMER_LOG_EVENT = {
  writeFailed: "audit.write_failed",
  invalidMessage: "audit.invalid_message",
  replayed: "audit.replayed",
} as const;

/**
 * The consumer of the audit Queue and of its dead-letter queue: one write to
 * the audit database per delivery, each event appended to its org's hash
 * chain (shared/audit/write-audit-batch.ts), keyed by event id, so a
 * redelivery or a replay from the dead-letter queue never stores or chains
 * an event twice. It is the only writer of the audit database.
 *
 * A delivery is acknowledged only once its rows are written. If the write
 * fails, every message is retried (the consumer's `retry_delay`); after
 * `max_retries` the main queue moves them to the dead-letter queue
 * (workers/token/wrangler.toml), which this same consumer keeps retrying
 * hourly. A message whose body is not an audit record cannot be written and
 * would fail its whole batch: it is retried on its own (and so ends in the
 * dead-letter queue for an operator) while the rest are written. A message
 * carries one record or a pack of them (shared/audit/audit-record.ts).
 *
 * On the dead-letter queue, each failure logs the records in full, so an
 * event the queue eventually drops is still in the Worker's logs.
 */
export async function consumeAuditBatch(
  batch: MessageBatch<unknown>,
  env: Pick<TokenEnv, "AUDIT_DB" | "KEY_ENCRYPTION_SECRET">,
): Promise<void> {
  const deadLetter = batch.queue === AUDIT_DEAD_LETTER_QUEUE_NAME;
  const writable: Message<unknown>[] = [];
  const records: AuditRecord[] = [];
  for (const message of batch.messages) {
    const carried = auditRecordsOf(message.body);
    if (carried) {
      writable.push(message);
      records.push(...carried);
      continue;
    }
    log(CONSUMER_LOG_EVENT.invalidMessage, {
      queue: batch.queue,
      message_id: message.id,
      attempts: message.attempts,
      body: capString(safeJson(message.body), 4096),
    });
    message.retry();
  }
  if (writable.length === 0) return;
  let report: WriteReport;
  try {
    report = await writeAuditBatch(env.AUDIT_DB, records, await auditHeadKey(env.KEY_ENCRYPTION_SECRET));
  } catch (error) {
    log(CONSUMER_LOG_EVENT.writeFailed, {
      queue: batch.queue,
      messages: writable.length,
      max_attempts: Math.max(...writable.map((m) => m.attempts)),
      error: capString(error instanceof Error ? error.message : String(error), 512),
      ...(deadLetter ? { records } : {}),
    });
    for (const message of writable) message.retry();
    return;
  }
  // Every message written (the usual case): one acknowledgement for the whole delivery, not one call per message.
  if (writable.length === batch.messages.length) batch.ackAll();
  else for (const message of writable) message.ack();
  if (deadLetter) {
    console.log(
      JSON.stringify({
        event: CONSUMER_LOG_EVENT.replayed,
        messages: writable.length,
        written: report.written,
        skipped: report.skipped,
      }),
    );
  }
}

function log(event: string, fields: Record<string, unknown>): void {
  console.error(JSON.stringify({ event, ...fields }));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
