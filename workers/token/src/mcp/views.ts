import type { AccessRequest } from "./access-requests.ts";
import type { McpGrant } from "./grants.ts";

/**
 * Access requests and grants as every JSON answer shows them (the admin
 * API, the agent API, webhooks, the console): snake_case, ISO 8601 times.
 */
export interface AccessRequestView {
  id: string;
  org_id: string;
  client_id: string;
  server: string;
  resource: string;
  scopes: string[];
  tools: string[];
  on_behalf_of: string;
  reason: string;
  ttl_seconds: number;
  status: string;
  created_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
  grant_id: string | null;
}

export function accessRequestView(request: AccessRequest): AccessRequestView {
  return {
    id: request.id,
    org_id: request.orgId,
    client_id: request.clientId,
    server: request.serverName,
    resource: request.resource,
    scopes: request.scopes,
    tools: request.tools,
    on_behalf_of: request.onBehalfOf,
    reason: request.reason,
    ttl_seconds: request.ttlSeconds,
    status: request.status,
    created_at: request.createdAt.toISOString(),
    expires_at: request.expiresAt.toISOString(),
    decided_by: request.decidedBy,
    decided_at: request.decidedAt?.toISOString() ?? null,
    decision_note: request.decisionNote,
    grant_id: request.grantId,
  };
}

export interface GrantView {
  id: string;
  org_id: string;
  request_id: string | null;
  client_id: string;
  server: string;
  resource: string;
  scopes: string[];
  tools: string[];
  on_behalf_of: string;
  status: string;
  expires_at: string;
  delegation_grant_id: string | null;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

export function grantView(grant: McpGrant): GrantView {
  return {
    id: grant.id,
    org_id: grant.orgId,
    request_id: grant.requestId,
    client_id: grant.clientId,
    server: grant.serverName,
    resource: grant.resource,
    scopes: grant.scopes,
    tools: grant.tools,
    on_behalf_of: grant.onBehalfOf,
    status: grant.status,
    expires_at: grant.expiresAt.toISOString(),
    delegation_grant_id: grant.delegationGrantId,
    created_by: grant.createdBy,
    created_at: grant.createdAt.toISOString(),
    revoked_at: grant.revokedAt?.toISOString() ?? null,
    revoked_by: grant.revokedBy,
  };
}
