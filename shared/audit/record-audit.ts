import { timeOrderedId } from "../ids/time-ordered-id.ts";
import { boundedMemo } from "../isolate/bounded-memo.ts";
import { aggregateAnonymousRefusal, isAnonymousRefusal } from "./anonymous-refusals.ts";
import { capNullable, serialiseCappedDetail } from "./caps.ts";
import { type AuditSink, queueAuditRecord } from "./enqueue.ts";

export type { AuditSink } from "./enqueue.ts";

export type AuditKind =
  | "gateway.decision"
  /** A saved token was put on a gateway request (workers/token/src/vault/saved-token.ts): ids only, never the token. */
  | "vault.token_used"
  /** A saved token was not given: the refusal and, when one matched, the connection. */
  | "vault.token_refused"
  /** A connection flow saved (or replaced) a connection's tokens (workers/token/src/vault/routes.ts). */
  | "vault.connection_saved"
  | "token.issued"
  | "token.refused"
  | "revocation.recorded"
  | "auth.sign_in_failed"
  | "auth.rate_limited"
  /** The owner's mailed link lifted an account's sign-in lock (workers/authn/src/limits/account-unlock.ts). */
  | "auth.account_unlocked"
  /** Every call of the admin API (workers/token/src/admin), allowed or refused. */
  | "admin.action"
  /** A host redeemed its invite (workers/token/src/endpoints/host-bootstrap.ts): a client was made. */
  | "host_invite.redeemed"
  /** A host's bootstrap was refused: the error code, and the invite's org and jti when it verified. */
  | "host_invite.refused"
  /** An agent's MCP access request filed, approved, denied or expired (workers/token/src/mcp/review.ts). */
  | "mcp.access_request"
  /** An MCP grant created by an approval, or revoked (workers/token/src/mcp/review.ts). */
  | "mcp.grant"
  /** An RFC 7591 registration at an org's registration endpoint, or its refusal (workers/token/src/oidc/client-registration.ts). */
  | "client.registered"
  /** An org's access webhook given up on after its last attempt, or a retry its org's webhook no longer names (workers/token/src/mcp/webhook-delivery.ts). */
  | "mcp.webhook"
  /** A change an org's directory made over SCIM, or its refusal (workers/authn/src/scim/audit.ts): ids and status, never the token. */
  | "scim.action";

export const AUDIT_OUTCOMES = ["allow", "deny", "issued", "refused", "recorded"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

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
 * value under such a key is replaced before it leaves the Worker (`jti`,
 * `token_type` and SAFE_KEYS' others identify or describe, they do not
 * authenticate).
 */
const SECRET_KEY = /token|secret|password|assertion|authorization|cookie|credential|private/i;
const SAFE_KEYS = new Set([
  "jti",
  "token_type",
  "requested_token_type",
  "subject_token_type",
  "issued_token_type",
  // The id half of a SCIM token (`sct_…`, never its secret half): redacted, a creation or
  // deletion in the trail could not be tied to the token the directory then used.
  "scim_token_id",
  // A boolean setting (RFC 9449 §5.2), redacted along with credentials by its name.
  "dpop_bound_access_tokens",
]);

export function redactAuditDetail(detail: Record<string, AuditDetailValue>): Record<string, AuditDetailValue> {
  const out: Record<string, AuditDetailValue> = {};
  for (const [key, value] of Object.entries(detail)) {
    out[key] = isSecretKey(key) ? "[redacted]" : value;
  }
  return out;
}

/** Detail keys come from code, a few dozen names: each is judged once per isolate. */
const isSecretKey = boundedMemo(256, (key) => SECRET_KEY.test(key) && !SAFE_KEYS.has(key));

/**
 * Records one audit event: it is redacted and capped here, in the producing
 * Worker, then put on the audit Queue in this isolate's next batched send
 * (enqueue.ts); the consumer (the token Worker) chains and writes events to
 * the audit database in batches, so no request path writes to a D1 primary
 * (DESIGN, "Scale"). A refusal without an authenticated principal is folded
 * into a per-isolate aggregate instead (anonymous-refusals.ts).
 *
 * Resolves once the event is in a batch whose send is held by a request's
 * `waitUntil` (or, when this event opened the batch, once it is sent),
 * folded into an aggregate, or — after retries — counted and logged in full
 * (enqueue.ts); it never rejects for a queue failure. What can be lost: an
 * authenticated event, nothing short of a crash of the runtime before its
 * batch is sent (at most AUDIT_BATCH.windowMs of the isolate's events); for
 * anonymous refusals see anonymous-refusals.ts. Returns the event id.
 */
export async function recordAudit(sink: AuditSink, event: AuditEventInput): Promise<string> {
  const id = event.id ?? timeOrderedId();
  const detail = redactAuditDetail(event.detail ?? {});
  if (isAnonymousRefusal(event)) {
    await aggregateAnonymousRefusal(sink, { ...event, id }, detail);
    return id;
  }
  await queueAuditRecord(sink, {
    id,
    occurredAt: Date.now(),
    orgId: capNullable(event.orgId),
    kind: event.kind,
    outcome: event.outcome,
    subject: capNullable(event.subject),
    actor: capNullable(event.actor),
    clientId: capNullable(event.clientId),
    detail: serialiseCappedDetail(detail),
  });
  return id;
}

/**
 * For `waitUntil`: the promise must be held there, because it may wait out
 * the batch window (enqueue.ts) or an anonymous refusal's aggregation window
 * and then send. It never rejects.
 */
export function recordAuditInBackground(sink: AuditSink, event: AuditEventInput): Promise<void> {
  return recordAudit(sink, event).then(
    () => undefined,
    (error: unknown) => console.error("audit record failed", event.kind, error),
  );
}
