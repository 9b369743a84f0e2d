import { parseClientSubjectValue, type RevocationLogEvent } from "../../../../shared/contracts/revocation.ts";
import {
  CAEP_CLIENT_CREDENTIAL_TYPE,
  SSF_EVENT,
  type SsfEventType,
  type SubjectIdentifier,
} from "../../../../shared/contracts/ssf.ts";

/** One security event, before it is addressed to a stream and signed. */
export interface SecurityEvent {
  type: SsfEventType;
  subId: SubjectIdentifier;
  /** The event's own claims (CAEP 1.0 §2 and the event type's). */
  body: Record<string, unknown>;
  /** RFC 8417 §2.2 `txn`: every SET made from one revocation shares it. */
  txn?: string;
}

/**
 * What one recorded revocation (the org's event log, shared/contracts/
 * revocation-stream.ts) tells receivers:
 * - `session` → CAEP session-revoked about that session in the org (tenant);
 * - `subject` → CAEP session-revoked about the user (or machine) in the org:
 *   every session and token of theirs up to now;
 * - `org` → CAEP session-revoked about the whole tenant (the kill switch);
 * - `client` → CAEP credential-change (`revoke`) of the client's credentials;
 * - `client_subject` → CAEP session-revoked about the user at that
 *   application (complex `{user, application, tenant}`): the person's
 *   sessions and tokens at that client up to now, what the fold of that
 *   client's browser-grant entries of theirs ends — not a credential change
 *   of the client, whose other users' tokens live on, and not the person's
 *   sessions everywhere;
 * - `jti` → our token-revoked, about that one access token (SSF `jwt_id`);
 * - `grant` (and any kind added later) → our tokens-revoked, naming the kind.
 * `reason_admin` carries the recorded reason; `initiating_entity` is read
 * from it (sign-out and RFC 7009 are the user's or client's own doing,
 * operator revocations an admin's, everything else the system's).
 */
export function securityEventFor(issuer: string, orgId: string, event: RevocationLogEvent): SecurityEvent {
  const tenant = { format: "opaque", id: orgId };
  const common = {
    event_timestamp: event.revoked_at,
    initiating_entity: initiatingEntity(event.reason),
    reason_admin: { en: event.reason },
  };
  const txn = `${orgId}:${event.seq}`;
  const kind: string = event.kind;
  switch (kind) {
    case "session":
      return {
        type: SSF_EVENT.sessionRevoked,
        subId: { format: "complex", session: { format: "opaque", id: event.value }, tenant },
        body: common,
        txn,
      };
    case "subject":
      return {
        type: SSF_EVENT.sessionRevoked,
        subId: { format: "complex", user: { format: "iss_sub", iss: issuer, sub: event.value }, tenant },
        body: common,
        txn,
      };
    case "org":
      return { type: SSF_EVENT.sessionRevoked, subId: { format: "complex", tenant }, body: common, txn };
    case "client_subject": {
      const pair = parseClientSubjectValue(event.value);
      if (pair === null) break;
      return {
        type: SSF_EVENT.sessionRevoked,
        subId: {
          format: "complex",
          user: { format: "iss_sub", iss: issuer, sub: pair.subject },
          application: { format: "opaque", id: pair.clientId },
          tenant,
        },
        body: common,
        txn,
      };
    }
    case "client":
      return {
        type: SSF_EVENT.credentialChange,
        subId: { format: "complex", application: { format: "opaque", id: event.value }, tenant },
        body: { ...common, credential_type: CAEP_CLIENT_CREDENTIAL_TYPE, change_type: "revoke" },
        txn,
      };
    case "jti":
      return {
        type: SSF_EVENT.tokenRevoked,
        subId: { format: "jwt_id", iss: issuer, jti: event.value },
        body: { ...common, expires_at: event.expires_at },
        txn,
      };
  }
  // `grant` (a delegation grant's id), and any kind added after this
  // mapping (or a value it cannot read): every token it names is revoked;
  // the kind says how.
  return {
    type: SSF_EVENT.tokensRevoked,
    subId: { format: "opaque", id: event.value },
    body: { ...common, revocation_kind: kind, tenant },
    txn,
  };
}

function initiatingEntity(reason: string): "admin" | "user" | "system" {
  if (reason.startsWith("operator")) return "admin";
  if (reason.startsWith("sign-out") || reason.startsWith("rfc7009")) return "user";
  return "system";
}
