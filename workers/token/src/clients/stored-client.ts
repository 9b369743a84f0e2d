import { oauthClient } from "../../../../shared/db/machine-schema.ts";
import type { ClientRegistration, StoredClient } from "./types.ts";

export type OAuthClientRow = typeof oauthClient.$inferSelect;

/** RFC 6749 §3.3 syntax: the stored lists are space-separated, order and duplicates meaningless. */
export function splitList(value: string | null | undefined): string[] {
  return [...new Set((value ?? "").split(" ").filter(Boolean))];
}

export function joinList(values: readonly string[]): string {
  return [...new Set(values)].join(" ");
}

export function storedClientFromRow(row: OAuthClientRow): StoredClient {
  return {
    clientId: row.clientId,
    orgId: row.orgId,
    name: row.name,
    kind: row.type,
    ownerUserId: row.ownerUserId,
    authMethod: row.authMethod,
    secretHash: row.secretHash,
    jwks: row.jwks,
    jwksUri: row.jwksUri,
    grantTypes: splitList(row.grantTypes),
    scopes: splitList(row.scopes),
    audiences: splitList(row.audiences),
    maxTtlSeconds: row.maxTtlSeconds,
    requireDpop: row.requireDpop,
    resourceServer: row.resourceServer,
    status: row.status,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastUsedAt: row.lastUsedAt,
    pendingCutoff: row.pendingCutoff,
  };
}

/** What a grant may see: everything but the credentials. */
export function registrationOf(client: StoredClient): ClientRegistration {
  const { secretHash: _hash, jwks: _jwks, jwksUri: _uri, ...registration } = client;
  return registration;
}
