import { drizzle } from "drizzle-orm/d1";
import { auditEvent } from "../db/schema.ts";

export type AuditKind =
  | "gateway.decision"
  | "token.issued"
  | "token.refused"
  | "revocation.recorded";

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

/**
 * Keys that could carry a credential. An audit record is read by operators
 * and exported; it must never hold a bearer token, secret or password, so a
 * value under such a key is replaced before it is written (`jti` and
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
 * Records one audit event. Callers on a request path run it in
 * `ctx.waitUntil` so the response never waits on D1's primary; a later issue
 * moves the write behind a Queue with a per-org hash chain.
 */
export async function recordAudit(db: D1Database, event: AuditEventInput): Promise<string> {
  const id = event.id ?? crypto.randomUUID();
  await drizzle(db)
    .insert(auditEvent)
    .values({
      id,
      occurredAt: new Date(),
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

/** For `waitUntil`: an audit write that fails is logged, never thrown at a client. */
export function recordAuditInBackground(db: D1Database, event: AuditEventInput): Promise<void> {
  return recordAudit(db, event).then(
    () => undefined,
    (error: unknown) => console.error("audit write failed", event.kind, error),
  );
}
