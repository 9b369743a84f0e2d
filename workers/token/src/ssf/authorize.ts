import { REALM, ssfAudience } from "../../../../shared/contracts/endpoints.ts";
import type { Scope } from "../../../../shared/contracts/scopes.ts";
import { type AccessTokenClaims, PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import { findStoredClient } from "../clients/registry.ts";
import { tokenConfig } from "../config.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a b64token. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** Who called the transmitter: one client of one org. */
export interface OrgPrincipal {
  orgId: string;
  clientId: string;
  jti: string;
}

/**
 * Authorises a call to the transmitter (ENDPOINT.ssf) as one org's client:
 * an RFC 9068 access token for ssfAudience(issuer), not DPoP-bound (no
 * proof is checked here), carrying `scope`, minted by client_credentials
 * for a client that is still active in that org and registered with the
 * scope, and not revoked in the org's Durable Object. Human session tokens
 * and delegated (`act`) tokens are refused: streams and subscriptions
 * belong to a service, registered by an operator.
 *
 * Answers (RFC 6750 §3.1): no bearer → 401 bare challenge; malformed header
 * → 400 `invalid_request`; a token that does not verify, is for another
 * audience, or is revoked → 401 `invalid_token` with the verifier's code;
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
  const header = request.headers.get("Authorization");
  if (header === null || !/^bearer(\s|$)/i.test(header)) return bearerErrorResponse({ realm: REALM });
  const token = BEARER.exec(header)?.[1];
  if (!token) {
    return bearerErrorResponse({
      realm: REALM,
      error: "invalid_request",
      description: "malformed Authorization header",
    });
  }
  const issuer = tokenConfig(env).issuer;
  let claims: AccessTokenClaims;
  try {
    claims = await verifyAccessToken(token, {
      issuer,
      audience: ssfAudience(issuer),
      resolveKey: databaseKeyResolver(env.DB),
    });
    // RFC 9449 §7.1: a DPoP-bound token is not a bearer token; we check no proof here.
    if (claims.cnf !== undefined) throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "DPoP-bound token");
    if (claims.org_id !== PLATFORM_ORG_ID && (await isRevoked(env, claims))) {
      throw new TokenVerificationError("ERR_TOKEN_REVOKED");
    }
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    return bearerErrorResponse({ realm: REALM, error: "invalid_token", description: error.publicDescription });
  }
  if (!(claims.scope ?? "").split(" ").includes(scope)) {
    return bearerErrorResponse({
      realm: REALM,
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
  return { orgId: claims.org_id, clientId: claims.client_id, jti: claims.jti };
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
