import { type AuditSink, recordAuditInBackground } from "../audit/record-audit.ts";
import { orgStateName } from "../contracts/storage-keys.ts";
import type { OrgStateNamespace } from "../contracts/org-state.ts";
import {
  type BrowserGrantRevocation,
  type BrowserGrantRevocationOutcome,
  clientSubjectValue,
  type RevocationEvent,
  type TokenRevocation,
  type TokenRevocationOutcome,
} from "../contracts/revocation.ts";

export interface RevocationBindings extends AuditSink {
  ORG_STATE: OrgStateNamespace;
}

/**
 * Records a revocation. The org's Durable Object is written first and is the
 * source of truth (strongly consistent, never KV); gateways read it within
 * their staleness bound. Returns once the object has it. `slackSeconds`:
 * a `grant` entry lives that much longer (MAX_REVOCATION_SLACK_SECONDS).
 */
export async function recordRevocation(
  env: RevocationBindings,
  event: RevocationEvent,
  options: { jtiExpiresAt?: number; slackSeconds?: number; waitUntil?: (p: Promise<unknown>) => void } = {},
): Promise<number> {
  const stub = env.ORG_STATE.getByName(orgStateName(event.orgId));
  const version = await stub.revoke(event, options.jtiExpiresAt, options.slackSeconds);
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

/**
 * Records an RFC 7009 revocation of one access token (OrgState.revokeToken):
 * a `jti` entry attributed to the token's client, or, past the caps, a
 * `client` cut-off that folds that client's entries. Returns once the
 * object has it; the audit names what was recorded, so a fold shows as the
 * client revocation it is.
 */
export async function recordTokenRevocation(
  env: RevocationBindings,
  revocation: TokenRevocation,
  options: { waitUntil?: (p: Promise<unknown>) => void } = {},
): Promise<TokenRevocationOutcome> {
  const { claims } = revocation;
  const outcome = await env.ORG_STATE.getByName(orgStateName(claims.org_id)).revokeToken(revocation);
  const audit = recordAuditInBackground(env, {
    kind: "revocation.recorded",
    outcome: "recorded",
    orgId: claims.org_id,
    subject: null,
    detail: {
      revocation_kind: outcome.recorded === "client" ? "client" : "jti",
      value: outcome.recorded === "client" ? claims.client_id : claims.jti,
      ...(outcome.recorded === "jti" ? {} : { jti: claims.jti, recorded: outcome.recorded }),
      reason: revocation.reason,
      version: outcome.version,
    },
  });
  if (options.waitUntil) options.waitUntil(audit);
  else await audit;
  return outcome;
}

/**
 * Records the `grant` revocation of a browser authorization
 * (OrgState.revokeBrowserGrant): an entry attributed to its client and
 * person, or, past MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON, a
 * `client_subject` cut-off of that person at that client besides it.
 * Returns once the object has it; the audit names what was recorded, so a
 * fold shows as the cut-off it is.
 */
export async function recordBrowserGrantRevocation(
  env: RevocationBindings,
  revocation: BrowserGrantRevocation,
  options: { waitUntil?: (p: Promise<unknown>) => void } = {},
): Promise<BrowserGrantRevocationOutcome> {
  const outcome = await env.ORG_STATE.getByName(orgStateName(revocation.orgId)).revokeBrowserGrant(revocation);
  const folded = outcome.recorded === "client_subject";
  const audit = recordAuditInBackground(env, {
    kind: "revocation.recorded",
    outcome: "recorded",
    orgId: revocation.orgId,
    subject: revocation.subject,
    detail: {
      revocation_kind: folded ? "client_subject" : "grant",
      value: folded ? clientSubjectValue(revocation.clientId, revocation.subject) : revocation.grantId,
      ...(folded ? { grant_id: revocation.grantId, recorded: outcome.recorded } : {}),
      client_id: revocation.clientId,
      reason: revocation.reason,
      version: outcome.version,
    },
  });
  if (options.waitUntil) options.waitUntil(audit);
  else await audit;
  return outcome;
}
