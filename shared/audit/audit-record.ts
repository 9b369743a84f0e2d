/** One audit event as it travels on the audit Queue and lands in `audit_event`. */
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
  /** JSON, already redacted by the producer. */
  detail: string;
}
