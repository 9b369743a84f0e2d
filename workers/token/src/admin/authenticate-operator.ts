import type { MiddlewareHandler } from "hono";
import { adminAudience, REALM } from "../../../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import { type AccessTokenClaims, PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { findStoredClient } from "../clients/registry.ts";
import { tokenConfig } from "../config.ts";
import { authenticateResourceToken } from "../http/resource-token.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";
import type { AdminEnv } from "./types.ts";

/**
 * Authenticates the admin API's caller as a platform operator: an RFC 9068
 * access token (shared/jwt/verify-access-token.ts) for the admin audience
 * (adminAudience(issuer)) carrying the `admin` scope, minted by client
 * credentials for an operator client (an `oauth_client` row with no org,
 * still active) and not revoked in the platform's revocation state.
 *
 * The token and its DPoP binding are checked by http/resource-token.ts (a
 * bound token only with the DPoP scheme and a fresh proof, RFC 9449 §7.1).
 * Answers (RFC 6750 §3.1): no token → 401 with a bare challenge; a
 * malformed header → 400 `invalid_request`; a token that does not verify,
 * is for another audience, or is revoked → 401 `invalid_token` with the
 * verifier's code; a DPoP refusal → 401 with a `DPoP` challenge; a valid
 * token without `admin` → 403 `insufficient_scope`; an `admin` token not
 * of the platform → 403 `forbidden`.
 *
 * Every check reads the source of truth (D1 for keys and the client, the
 * platform's Durable Object for revocations): admin calls are rare, and an
 * operator disabled or a key withdrawn a moment ago must not act again.
 */
export function authenticateOperator(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const issuer = tokenConfig(c.env).issuer;
    const authenticated = await authenticateResourceToken(c.env, c.req.raw, {
      audience: adminAudience(issuer),
      // A token of another org is refused 403 below; the platform's object
      // answers only for the platform (OrgState refuses a call naming another).
      stillValid: async (claims) => claims.org_id !== PLATFORM_ORG_ID || !(await isRevoked(c.env, claims)),
    });
    if (authenticated instanceof Response) return authenticated;
    const { claims } = authenticated;
    const scopes = (claims.scope ?? "").split(" ");
    if (!scopes.includes(SCOPE.admin)) {
      return bearerErrorResponse({
        realm: REALM,
        scheme: authenticated.scheme,
        error: "insufficient_scope",
        description: "the admin API needs the admin scope",
        scope: SCOPE.admin,
      });
    }
    // Only platform operator clients (no org) may hold `admin`; a token that
    // claims it for an org was not minted by this issuer's grants.
    if (claims.org_id !== PLATFORM_ORG_ID) {
      return httpErrorResponse("forbidden", "only platform operators may use the admin API");
    }
    c.set("operator", {
      clientId: claims.client_id,
      subject: claims.sub,
      jti: claims.jti,
      sessionId: null,
      expiresAt: claims.exp,
      reach: { platform: true },
    });
    await next();
  };
}

/**
 * Whether the token is revoked: its operator client is gone, disabled or no
 * longer an operator, or the platform's revocation state names its `jti`,
 * its client or its subject (cut off at or after it was issued).
 */
async function isRevoked(env: TokenEnv, claims: AccessTokenClaims): Promise<boolean> {
  const client = await findStoredClient(env.DB, claims.client_id);
  if (!client || client.status !== "active" || client.orgId !== null || !client.scopes.includes(SCOPE.admin)) {
    return true;
  }
  return new RevocationReader(env.ORG_STATE).isRevoked(claims, PLATFORM_ORG_ID);
}
