import type { AuditRecord } from "./audit-record.ts";
import { capString } from "./caps.ts";

/** The binding an audit producer needs: the queue, never the audit database itself. */
export interface AuditSink {
  AUDIT_QUEUE: Queue<AuditRecord>;
}

/** Attempts per event, and the pause before each retry (a queue hiccup is short). */
export const ENQUEUE_ATTEMPTS = 3;
const RETRY_PAUSE_MS = [50, 250] as const;

/** The `event` field of the structured log line a lost enqueue writes. */
export const ENQUEUE_FAILED_EVENT = "audit.enqueue_failed";

let enqueueFailures = 0;

/**
 * How many audit events this isolate could not queue, after retries, since
 * it started. Every such failure also writes one structured log line that
 * carries the whole record (ENQUEUE_FAILED_EVENT), so the event is kept in
 * the Worker's logs and can be replayed from there.
 */
export function auditEnqueueFailures(): number {
  return enqueueFailures;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Puts one record on the audit Queue, retrying a failed send. Never throws:
 * a record that still cannot be queued is counted and logged in full (it is
 * already capped and redacted, the same bytes the audit database would hold).
 * Returns whether the record was queued.
 */
export async function enqueueAuditRecord(sink: AuditSink, record: AuditRecord): Promise<boolean> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ENQUEUE_ATTEMPTS; attempt++) {
    if (attempt > 0) await pause(RETRY_PAUSE_MS[attempt - 1] ?? 250);
    try {
      await sink.AUDIT_QUEUE.send(record);
      return true;
    } catch (error) {
      lastError = error;
    }
  }
  enqueueFailures += 1;
  console.error(
    JSON.stringify({
      event: ENQUEUE_FAILED_EVENT,
      message: "audit event could not be queued; the record is in this line",
      attempts: ENQUEUE_ATTEMPTS,
      failures_in_isolate: enqueueFailures,
      error: capString(lastError instanceof Error ? lastError.message : String(lastError), 256),
      record,
    }),
  );
  return false;
}
