import type { AuditEventInput } from "../../../../shared/audit/record-audit.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";

/**
 * The host-bootstrap lifecycle's audit events. An invite's creation and its
 * withdrawal are admin calls, audited as `admin.action` (`invite.create`,
 * `invite.withdraw`) with the invite's `jti` (admin/invites.ts), refused
 * withdrawals included; its redemption and every refusal are recorded here.
 * Never the invite or the proof themselves: the invite is a credential
 * until it is redeemed.
 */

/** What is known about the attempt when it ends: the invite's org and jti once the invite verified. */
export interface BootstrapAttempt {
  orgId: string | null;
  jti: string | null;
}

export function redeemedEvent(attempt: { orgId: string; jti: string; clientId: string; kid: string }): AuditEventInput {
  return {
    kind: "host_invite.redeemed",
    outcome: "issued",
    orgId: attempt.orgId,
    subject: attempt.clientId,
    clientId: attempt.clientId,
    detail: { jti: attempt.jti, kid: attempt.kid, path: ENDPOINT.hostBootstrap },
  };
}

/**
 * A refusal. With no verified invite it names no org, so shared/audit folds
 * floods of them into aggregates (anonymous-refusals.ts); with one, it is
 * recorded in full against the invite's org.
 */
export function refusedEvent(attempt: BootstrapAttempt, code: string, status: number): AuditEventInput {
  return {
    kind: "host_invite.refused",
    outcome: "refused",
    orgId: attempt.orgId,
    detail: { error: code, status, path: ENDPOINT.hostBootstrap, ...(attempt.jti ? { jti: attempt.jti } : {}) },
  };
}
