import { REALM, ssfAudience } from "../../../../shared/contracts/endpoints.ts";
import type { Scope } from "../../../../shared/contracts/scopes.ts";
import { type AccessTokenClaims, PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { findStoredClient } from "../clients/registry.ts";
import { tokenConfig } from "../config.ts";
import { authenticateResourceToken } from "../http/resource-token.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";

/** Who called the transmitter: one client of one org. */
export interface OrgPrincipal {
  orgId: string;
  clientId: string;
  jti: string;
  /** The token's claims: a live revocation stream ends with them (revocations/stream.ts). */
  claims: AccessTokenClaims;
}

/**
 * Authorises a call to the transmitter (ENDPOINT.ssf) as one org's client:
 * an RFC 9068 access token for ssfAudience(issuer) (a DPoP-bound one only
 * with the DPoP scheme and a fresh proof, http/resource-token.ts, RFC 9449
 * §7.1), carrying `scope`, minted by client_credentials
 * for a client that is still active in that org and registered with the
 * scope, and not revoked in the org's Durable Object. Human session tokens
 * and delegated (`act`) tokens are refused: streams and subscriptions
 * belong to a service, registered by an operator.
 *
 * Answers (RFC 6750 §3.1): no token → 401 bare challenge; malformed header
 * → 400 `invalid_request`; a token that does not verify, is for another
 * audience, or is revoked → 401 `invalid_token` with the verifier's code; a
 * DPoP refusal → 401 with a `DPoP` challenge (RFC 9449 §7.1);
 * without the scope → 403 `insufficient_scope`; a valid token that is not an
 * org client's → 403 `forbidden`. Returns the principal, or the answer.
 *
 * Every check reads the source of truth (D1, the org's object): these calls
 * are rare, and a client disabled a moment ago must not act again.
 */
export async function authorizeOrgClient(
  env: TokenEnv,
  request: Request,
  scope: Scope,
): Promise<OrgPrincipal | Response> {
  const authenticated = await authenticateResourceToken(env, request, {
    audience: ssfAudience(tokenConfig(env).issuer),
    stillValid: async (claims) => claims.org_id === PLATFORM_ORG_ID || !(await isRevoked(env, claims)),
  });
  if (authenticated instanceof Response) return authenticated;
  const { claims } = authenticated;
  if (!(claims.scope ?? "").split(" ").includes(scope)) {
    return bearerErrorResponse({
      realm: REALM,
      scheme: authenticated.scheme,
      error: "insufficient_scope",
      description: `this needs the ${scope} scope`,
      scope,
    });
  }
  if (
    claims.org_id === PLATFORM_ORG_ID ||
    claims.sub !== claims.client_id ||
    claims.sid !== undefined ||
    claims.act !== undefined
  ) {
    throw new HttpError("forbidden", "only an org's own client may use the transmitter");
  }
  return { orgId: claims.org_id, clientId: claims.client_id, jti: claims.jti, claims };
}

/** The principal must be of `orgId` (RFC 6750 §3.1: the token is valid, this org is not its to act on). */
export function requireSameOrg(principal: OrgPrincipal, orgId: string): void {
  if (principal.orgId !== orgId) throw new HttpError("forbidden", "the token is for another organization");
}

/**
 * Whether the token no longer stands: its client is gone, disabled, moved
 * or no longer holds the scope it carries, or the org's revocation state
 * names it (jti, client, subject, org).
 */
async function isRevoked(env: TokenEnv, claims: AccessTokenClaims): Promise<boolean> {
  const client = await findStoredClient(env.DB, claims.client_id);
  if (!client || client.status !== "active" || client.orgId !== claims.org_id) return true;
  const carried = (claims.scope ?? "").split(" ").filter(Boolean);
  if (!carried.every((s) => client.scopes.includes(s))) return true;
  return new RevocationReader(env.ORG_STATE).isRevoked(claims, claims.org_id);
}
