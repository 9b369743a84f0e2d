import { type AuditSink, recordAuditInBackground } from "../audit/record-audit.ts";
import { orgStateName } from "../contracts/storage-keys.ts";
import type { OrgStateNamespace } from "../contracts/org-state.ts";
import type { RevocationEvent } from "../contracts/revocation.ts";

export interface RevocationBindings extends AuditSink {
  ORG_STATE: OrgStateNamespace;
}

/**
 * Records a revocation. The org's Durable Object is written first and is the
 * source of truth (strongly consistent, never KV); gateways read it within
 * their staleness bound. Returns once the object has it.
 */
export async function recordRevocation(
  env: RevocationBindings,
  event: RevocationEvent,
  options: { jtiExpiresAt?: number; waitUntil?: (p: Promise<unknown>) => void } = {},
): Promise<number> {
  const stub = env.ORG_STATE.getByName(orgStateName(event.orgId));
  const version = await stub.revoke(event, options.jtiExpiresAt);
  const audit = recordAuditInBackground(env, {
    kind: "revocation.recorded",
    outcome: "recorded",
    orgId: event.orgId,
    subject: event.kind === "subject" ? event.value : null,
    detail: { revocation_kind: event.kind, value: event.value, reason: event.reason, version },
  });
  if (options.waitUntil) options.waitUntil(audit);
  else await audit;
  return version;
}
