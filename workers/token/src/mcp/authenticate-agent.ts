import type { MiddlewareHandler } from "hono";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { agentPrincipal, isBrowserFlowClientId } from "../../../../shared/contracts/mcp.ts";
import { oidcClient } from "../../../../shared/db/schema.ts";
import { type AccessTokenClaims, FIRST_PARTY_CLIENT_ID, PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { findStoredClient } from "../clients/registry.ts";
import { tokenConfig } from "../config.ts";
import { authenticateResourceToken } from "../http/resource-token.ts";
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
  // The first-party app is built in (clients/registry.ts), never disabled; its tokens are a person's own (403 below).
  if (claims.client_id === FIRST_PARTY_CLIENT_ID) return true;
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

/**
 * Authenticates the agent API's caller (mcp/agent-api.ts): an RFC 9068
 * access token for the API audience (the issuer's default audience, the
 * first of ALLOWED_AUDIENCES — the agent API is one of the platform's
 * APIs, and a token for an MCP server is for that server only, RFC 8707),
 * of an org, not revoked, whose client is still active, held by an agent
 * (mcp.ts agentPrincipal: a client acting as itself, a delegated token, or
 * a client a person authorized in the browser, asking for that person).
 *
 * The token and its DPoP binding are checked by http/resource-token.ts (a
 * bound token, as under an org's `require_dpop_for_agents`, only with the
 * DPoP scheme and a fresh proof, RFC 9449 §7.1). Answers (RFC 6750 §3.1):
 * no token → 401 with a bare challenge; a malformed header → 400
 * `invalid_request`; a token that does not verify, is for another
 * audience, or is revoked → 401 `invalid_token` with the verifier's code;
 * a DPoP refusal → 401 with a `DPoP` challenge; a person's own token or a platform token → 403
 * `forbidden` `ERR_NOT_AN_AGENT`.
 */
export function authenticateAgent(): MiddlewareHandler<AgentEnv> {
  return async (c, next) => {
    const authenticated = await authenticateResourceToken(c.env, c.req.raw, {
      audience: tokenConfig(c.env).defaultAudience,
      stillValid: async (claims) =>
        (await clientStillActive(c.env.DB, claims)) && !(await new RevocationReader(c.env.ORG_STATE).isRevoked(claims)),
    });
    if (authenticated instanceof Response) return authenticated;
    const { claims } = authenticated;
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
