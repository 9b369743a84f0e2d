import type { AuditRecord } from "./audit-record.ts";

export type AuditKind = "gateway.decision" | "token.issued" | "token.refused" | "revocation.recorded";

export type AuditOutcome = "allow" | "deny" | "issued" | "refused" | "recorded";

export type AuditDetailValue = string | number | boolean | null | readonly string[];

export interface AuditEventInput {
  /** Shared with the response (e.g. a gateway decision id); generated if absent. */
  id?: string;
  kind: AuditKind;
  outcome: AuditOutcome;
  orgId?: string | null;
  subject?: string | null;
  actor?: string | null;
  clientId?: string | null;
  detail?: Record<string, AuditDetailValue>;
}

/** The binding an audit producer needs: the queue, never D1 itself. */
export interface AuditSink {
  AUDIT_QUEUE: Queue<AuditRecord>;
}

/**
 * Keys that could carry a credential. An audit record is read by operators
 * and exported; it must never hold a bearer token, secret or password, so a
 * value under such a key is replaced before it leaves the Worker (`jti` and
 * `token_type` identify, they do not authenticate).
 */
const SECRET_KEY = /token|secret|password|assertion|authorization|cookie|credential|private/i;
const SAFE_KEYS = new Set(["jti", "token_type", "requested_token_type", "subject_token_type"]);

export function redactAuditDetail(detail: Record<string, AuditDetailValue>): Record<string, AuditDetailValue> {
  const out: Record<string, AuditDetailValue> = {};
  for (const [key, value] of Object.entries(detail)) {
    out[key] = SECRET_KEY.test(key) && !SAFE_KEYS.has(key) ? "[redacted]" : value;
  }
  return out;
}

/**
 * Records one audit event: it is put on the audit Queue, and the consumer
 * (the token Worker) writes events to D1 in batches, so no request path
 * writes to D1's single primary (DESIGN, "Scale"). Returns the event id.
 */
export async function recordAudit(sink: AuditSink, event: AuditEventInput): Promise<string> {
  const id = event.id ?? crypto.randomUUID();
  await sink.AUDIT_QUEUE.send({
    id,
    occurredAt: Date.now(),
    orgId: event.orgId ?? null,
    kind: event.kind,
    outcome: event.outcome,
    subject: event.subject ?? null,
    actor: event.actor ?? null,
    clientId: event.clientId ?? null,
    detail: JSON.stringify(redactAuditDetail(event.detail ?? {})),
  });
  return id;
}

/** For `waitUntil`: an audit event that cannot be queued is logged, never thrown at a client. */
export function recordAuditInBackground(sink: AuditSink, event: AuditEventInput): Promise<void> {
  return recordAudit(sink, event).then(
    () => undefined,
    (error: unknown) => console.error("audit enqueue failed", event.kind, error),
  );
}
