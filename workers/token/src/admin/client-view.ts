import type { StoredClient } from "../clients/types.ts";

/**
 * A client as the admin API shows it (RFC 7591 §3.2.1 names where they
 * exist). Never its secret's hash; the secret itself only in the answer
 * that created or rotated it.
 */
export function clientView(client: StoredClient, secret?: string) {
  return {
    client_id: client.clientId,
    ...(secret !== undefined ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    org_id: client.orgId,
    client_name: client.name,
    client_type: client.kind,
    owner_user_id: client.ownerUserId,
    token_endpoint_auth_method: client.authMethod,
    grant_types: [...client.grantTypes],
    scope: client.scopes.join(" "),
    audiences: [...client.audiences],
    jwks: client.jwks === null ? null : (JSON.parse(client.jwks) as unknown),
    jwks_uri: client.jwksUri,
    max_ttl_seconds: client.maxTtlSeconds,
    dpop_bound_access_tokens: client.requireDpop,
    resource_server: client.resourceServer,
    status: client.status,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
    last_used_at: client.lastUsedAt?.toISOString() ?? null,
    // The registration shown is in force for new tokens; until the cut-off is recorded, older ones are not yet cut off.
    cutoff_pending: client.pendingCutoff !== null,
  };
}
