/** One audit event as it travels on the audit Queue and lands in the audit database's `audit_event`. */
export interface AuditRecord {
  id: string;
  /** Milliseconds since the epoch, when the event happened (not when it was written). */
  occurredAt: number;
  orgId: string | null;
  kind: string;
  outcome: string;
  subject: string | null;
  actor: string | null;
  clientId: string | null;
  /** JSON, already redacted and capped by the producer (caps.ts). */
  detail: string;
}

const NULLABLE_TEXT = ["orgId", "subject", "actor", "clientId"] as const;
const TEXT = ["id", "kind", "outcome", "detail"] as const;

/**
 * Whether a queue message's body can be written as an audit row. A message
 * that cannot (sent by an older or broken producer) must not fail the whole
 * batch it arrived in: the consumer sets it apart.
 */
export function isAuditRecord(value: unknown): value is AuditRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    TEXT.every((key) => typeof record[key] === "string" && record[key] !== "") &&
    NULLABLE_TEXT.every((key) => record[key] === null || typeof record[key] === "string") &&
    // Integer milliseconds: the hash chain serialises the number as stored (chain.ts).
    Number.isSafeInteger(record.occurredAt)
  );
}

/**
 * Several records in one queue message (enqueue.ts packs each batch it
 * sends): one message per send instead of one per event, which keeps a busy
 * gateway far under a queue's messages-per-second limit and its per-message
 * operations, and spares the consumer a message per event.
 */
export interface AuditPack {
  pack: readonly AuditRecord[];
}

/** A message on the audit Queue: a pack, or one record (a record sent on its own, or by a producer from before packs). */
export type AuditMessage = AuditPack | AuditRecord;

/**
 * The records an audit message carries, or undefined when it is not one (the
 * consumer sets it apart). A pack counts only if every record in it is one:
 * a pack is written whole or not at all, like a message.
 */
export function auditRecordsOf(body: unknown): readonly AuditRecord[] | undefined {
  if (isAuditRecord(body)) return [body];
  if (typeof body !== "object" || body === null) return undefined;
  const pack = (body as { pack?: unknown }).pack;
  return Array.isArray(pack) && pack.length > 0 && pack.every(isAuditRecord) ? pack : undefined;
}
