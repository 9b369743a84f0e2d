import { APIError } from "better-auth/api";

/**
 * A client an org's MCP client registered for itself (RFC 7591, the token
 * Worker's workers/token/src/oidc/client-registration.ts) belongs to that
 * org: its `oidc_client.metadata` names the org, and a token it gets must be
 * for that org's people — a person of another org authorizing it would
 * otherwise hand their org's data to a client nobody there registered.
 * Checked at every token the code or a refresh token yields, with the org
 * the person consented in. RFC 6749 §5.2 `invalid_grant`.
 */
export function assertClientOrg(metadata: Record<string, unknown> | undefined, orgId: string): void {
  const owner = metadata?.org_id;
  if (owner === undefined) return;
  if (owner !== orgId) {
    throw new APIError("BAD_REQUEST", {
      error: "invalid_grant",
      error_description: "ERR_CLIENT_ORG: the client was registered by another organization",
    });
  }
}
