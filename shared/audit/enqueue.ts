/**
 * Putting audit records on the audit Queue, coalesced per isolate.
 *
 * One queue send per event was a large part of what a gateway request cost
 * (README, "Measured"). So each isolate gathers the records
 * its requests produce into one open batch per queue binding and sends it
 * with one `sendBatch` once it is AUDIT_BATCH.windowMs old, its records
 * packed into as few messages as fit (audit-record.ts, AuditPack); a full batch
 * takes no more records, and the next record opens another.
 *
 * No timer outlives a request: the record that opens a batch gets a promise
 * that waits out the window and then sends; its caller holds that promise in
 * `waitUntil` (every caller of `recordAuditInBackground` does), so the
 * runtime keeps that request's context alive until the batch is sent.
 * Records that join an open batch resolve at once: the opener's `waitUntil`
 * carries them. A batch whose opener never held it (a caller that forgot
 * `waitUntil`) is taken over and sent by the next record after
 * AUDIT_BATCH.strandedMs.
 *
 * What can be lost: the records of one open batch (at most windowMs of this
 * isolate's events, at most maxRecords of them) if the runtime itself dies —
 * a crash, or an eviction that ignores `waitUntil` — or kills the request
 * that opened the batch outright (a CPU or memory limit) before the send. A send
 * the queue refuses is retried, then each record is tried on its own, and
 * one that still fails is counted and logged in full (ENQUEUE_FAILED_EVENT).
 */
import type { AuditMessage, AuditRecord } from "./audit-record.ts";
import { capString } from "./caps.ts";

/** The binding an audit producer needs: the queue, never the audit database itself. */
export interface AuditSink {
  AUDIT_QUEUE: Queue<AuditMessage>;
}

export const AUDIT_BATCH = {
  /** How long the first record of a batch waits for others before the batch is sent. */
  windowMs: 50,
  /** Queues' sendBatch takes at most 100 messages… */
  maxRecords: 100,
  /** …and 256 KB in all; records are measured conservatively (estimatedBytes). */
  maxBytes: 192 * 1024,
  /** One message holds at most 128 KB: a batch goes as packs of at most this many (estimated) bytes. */
  maxPackBytes: 96 * 1024,
  /** A batch still open this long after it opened was never held by its opener's waitUntil. */
  strandedMs: 2_000,
} as const;

/** Sends of a whole batch; after these, each record is tried once on its own. */
export const BATCH_SEND_ATTEMPTS = 3;
const RETRY_PAUSE_MS = [50, 250] as const;

/** Attempts a lost record had: its batch's, then one of its own. */
export const ENQUEUE_ATTEMPTS = BATCH_SEND_ATTEMPTS + 1;

/** The `event` field of the structured log line a lost enqueue writes. */
export const ENQUEUE_FAILED_EVENT = "audit.enqueue_failed";

interface OpenBatch {
  records: AuditRecord[];
  bytes: number;
  openedAt: number;
  /** Set once someone has started sending it; nobody sends it twice. */
  taken: boolean;
}

const openBatches = new WeakMap<Queue<AuditMessage>, OpenBatch>();

let enqueueFailures = 0;
let queueSends = 0;

/**
 * How many audit events this isolate could not queue, after retries, since
 * it started. Every such failure also writes one structured log line that
 * carries the whole record (ENQUEUE_FAILED_EVENT), so the event is kept in
 * the Worker's logs and can be replayed from there.
 */
export function auditEnqueueFailures(): number {
  return enqueueFailures;
}

/** How many times this isolate has called the audit queue (sendBatch or send), since it started. */
export function auditQueueSends(): number {
  return queueSends;
}

/**
 * A record's size as the queue may count it, on the safe side: every UTF-16
 * unit of its strings as 3 bytes, plus room for field names and framing.
 */
function estimatedBytes(record: AuditRecord): number {
  let units = 0;
  for (const value of [record.id, record.orgId, record.kind, record.outcome, record.subject, record.actor]) {
    units += value?.length ?? 0;
  }
  units += (record.clientId?.length ?? 0) + record.detail.length;
  return units * 3 + 256;
}

/**
 * Adds a record to this isolate's open batch for the sink's queue, opening
 * one if there is none. Resolves, for the record that opened the batch, once
 * the batch is sent (or its records counted and logged as lost); for the
 * others at once. Never rejects.
 */
export function queueAuditRecord(sink: AuditSink, record: AuditRecord): Promise<void> {
  const queue = sink.AUDIT_QUEUE;
  const size = estimatedBytes(record);
  let batch = openBatches.get(queue);
  if (batch && Date.now() - batch.openedAt > AUDIT_BATCH.strandedMs) {
    // Its opener's context is gone (nothing held its promise): send it from here.
    close(queue, batch);
    batch.taken = true;
    return sendRecords(queue, [...batch.records, record]);
  }
  if (batch && batch.bytes + size > AUDIT_BATCH.maxBytes) {
    close(queue, batch);
    batch = undefined;
  }
  if (batch) {
    add(queue, batch, record, size);
    return Promise.resolve();
  }
  return openBatch(queue, record, size);
}

/**
 * Opens a batch with its first record and returns the promise that sends it
 * when the window ends. A full batch is only closed to new records, never
 * sent early by whoever filled it: that record's request is not the opener's,
 * and a request may not settle promises or I/O of another request's context
 * in workerd. Only a batch its own first record fills (a record near the
 * size limit) goes at once.
 */
function openBatch(queue: Queue<AuditMessage>, first: AuditRecord, size: number): Promise<void> {
  const batch: OpenBatch = { records: [], bytes: 0, openedAt: Date.now(), taken: false };
  openBatches.set(queue, batch);
  add(queue, batch, first, size);
  const send = async () => {
    close(queue, batch);
    if (batch.taken) return;
    batch.taken = true;
    await sendRecords(queue, batch.records);
  };
  if (openBatches.get(queue) !== batch) return send();
  return new Promise<void>((resolve) => setTimeout(resolve, AUDIT_BATCH.windowMs)).then(send);
}

function add(queue: Queue<AuditMessage>, batch: OpenBatch, record: AuditRecord, size: number): void {
  batch.records.push(record);
  batch.bytes += size;
  if (batch.records.length >= AUDIT_BATCH.maxRecords || batch.bytes >= AUDIT_BATCH.maxBytes) close(queue, batch);
}

/** No more records join it; the next record opens a new batch. */
function close(queue: Queue<AuditMessage>, batch: OpenBatch): void {
  if (openBatches.get(queue) === batch) openBatches.delete(queue);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends records with one sendBatch, packed into as few messages as the
 * queue's message size allows (AuditPack: usually one), retried; if the
 * batch still fails, each record on its own message, so one the queue refuses (e.g. too large) does not take
 * the others with it. Never throws: a record that cannot be queued is counted
 * and logged in full (it is already capped and redacted, the same bytes the
 * audit database would hold).
 */
export async function sendRecords(queue: Queue<AuditMessage>, records: readonly AuditRecord[]): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < BATCH_SEND_ATTEMPTS; attempt++) {
    if (attempt > 0) await pause(RETRY_PAUSE_MS[attempt - 1] ?? 250);
    try {
      queueSends += 1;
      await queue.sendBatch(packs(records).map((pack) => ({ body: { pack } })));
      return;
    } catch (error) {
      lastError = error;
    }
  }
  for (const record of records) {
    try {
      queueSends += 1;
      await queue.send(record);
    } catch (error) {
      lost(record, error ?? lastError);
    }
  }
}

/** The records in order, in packs of at most AUDIT_BATCH.maxPackBytes each (a record larger than that alone). */
function packs(records: readonly AuditRecord[]): AuditRecord[][] {
  const out: AuditRecord[][] = [];
  let current: AuditRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = estimatedBytes(record);
    if (current.length > 0 && bytes + size > AUDIT_BATCH.maxPackBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function lost(record: AuditRecord, error: unknown): void {
  enqueueFailures += 1;
  console.error(
    JSON.stringify({
      event: ENQUEUE_FAILED_EVENT,
      message: "audit event could not be queued; the record is in this line",
      attempts: ENQUEUE_ATTEMPTS,
      failures_in_isolate: enqueueFailures,
      error: capString(error instanceof Error ? error.message : String(error), 256),
      record,
    }),
  );
}
