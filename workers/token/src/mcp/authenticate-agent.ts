import type { MiddlewareHandler } from "hono";
import { REALM } from "../../../../shared/contracts/endpoints.ts";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { agentPrincipal, isBrowserFlowClientId } from "../../../../shared/contracts/mcp.ts";
import { oidcClient } from "../../../../shared/db/schema.ts";
import { type AccessTokenClaims, PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import { findStoredClient } from "../clients/registry.ts";
import { tokenConfig } from "../config.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";

/** The agent a request of the agent API was authenticated as. */
export interface Agent {
  claims: AccessTokenClaims;
  orgId: string;
  /** The agent's client (the token's client acting as itself, or its current actor). */
  clientId: string;
  /** ON_BEHALF_OF_ORG, or the person a delegated token acts for. */
  onBehalfOf: string;
}

export interface AgentEnv {
  Bindings: TokenEnv;
  Variables: { agent: Agent };
}

/**
 * The token's client is still there and still the org's: a machine or agent
 * client (`oauth_client`), or a browser-flow client (`oidc_client`, the
 * authn Worker's provider) not disabled, and, when an org registered it
 * for itself (RFC 7591, oidc/client-registration.ts), that org's.
 */
async function clientStillActive(db: D1Database, claims: AccessTokenClaims): Promise<boolean> {
  if (isBrowserFlowClientId(claims.client_id)) {
    const row = await drizzle(db)
      .select({ disabled: oidcClient.disabled, metadata: oidcClient.metadata })
      .from(oidcClient)
      .where(eq(oidcClient.clientId, claims.client_id))
      .get();
    if (!row || row.disabled) return false;
    const owner = (row.metadata as { org_id?: unknown } | null)?.org_id;
    return owner === undefined || owner === claims.org_id;
  }
  const client = await findStoredClient(db, claims.client_id);
  return !!client && client.status === "active" && client.orgId === claims.org_id;
}

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a b64token. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Authenticates the agent API's caller (mcp/agent-api.ts): an RFC 9068
 * access token for the API audience (the issuer's default audience, the
 * first of ALLOWED_AUDIENCES — the agent API is one of the platform's
 * APIs, and a token for an MCP server is for that server only, RFC 8707),
 * of an org, not revoked, whose client is still active, held by an agent
 * (mcp.ts agentPrincipal: a client acting as itself, a delegated token, or
 * a client a person authorized in the browser, asking for that person).
 *
 * Answers (RFC 6750 §3.1): no bearer token → 401 with a bare challenge; a
 * malformed header → 400 `invalid_request`; a token that does not verify,
 * is for another audience, or is revoked → 401 `invalid_token` with the
 * verifier's code; a person's own token or a platform token → 403
 * `forbidden` `ERR_NOT_AN_AGENT`.
 */
export function authenticateAgent(): MiddlewareHandler<AgentEnv> {
  return async (c, next) => {
    const header = c.req.header("Authorization");
    if (header === undefined || !/^bearer(\s|$)/i.test(header)) return bearerErrorResponse({ realm: REALM });
    const token = BEARER.exec(header)?.[1];
    if (!token) {
      return bearerErrorResponse({
        realm: REALM,
        error: "invalid_request",
        description: "malformed Authorization header",
      });
    }
    const config = tokenConfig(c.env);
    let claims: AccessTokenClaims;
    try {
      claims = await verifyAccessToken(token, {
        issuer: config.issuer,
        audience: config.defaultAudience,
        resolveKey: databaseKeyResolver(c.env.DB),
      });
      if (!(await clientStillActive(c.env.DB, claims))) throw new TokenVerificationError("ERR_TOKEN_REVOKED");
      if (await new RevocationReader(c.env.ORG_STATE).isRevoked(claims)) {
        throw new TokenVerificationError("ERR_TOKEN_REVOKED");
      }
    } catch (error) {
      if (!(error instanceof TokenVerificationError)) throw error;
      return bearerErrorResponse({ realm: REALM, error: "invalid_token", description: error.publicDescription });
    }
    const principal = agentPrincipal(claims);
    if (!principal || claims.org_id === PLATFORM_ORG_ID) {
      return httpErrorResponse(
        "forbidden",
        "ERR_NOT_AN_AGENT: the agent API takes an agent's token (client credentials or delegation)",
      );
    }
    c.set("agent", { claims, orgId: claims.org_id, ...principal });
    await next();
  };
}
