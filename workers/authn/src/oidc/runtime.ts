import type { OidcRuntime } from "../auth/plugins/oauth-provider.ts";
import type { AuthnConfig } from "../config.ts";
import { DEMO_MCP_SERVER, mcpResource } from "../../../../shared/contracts/mcp.ts";
import { cimdClientDiscovery } from "../mcp-clients/client-discovery.ts";
import { orgMcpResources, orgMcpResourcesPlugin } from "../mcp-clients/org-resources.ts";
import { metadataOutbound } from "../mcp-clients/outbound.ts";
import { tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import { refreshGrantOrgOf } from "./browser-grant.ts";
import { issuerSigner } from "./issuer-signer.ts";
import { orgIdClaim } from "./org-claim.ts";

type OrgClaim = Awaited<ReturnType<typeof orgIdClaim>>;

/**
 * The org claim read once per grant: the provider asks for it before it mints
 * anything (its token response hook) and again for a JWT access token's
 * claims, in the same endpoint request; the second ask reuses the first read.
 */
const claimsOfRequest = new WeakMap<Request, Map<string, Promise<OrgClaim>>>();

function orgClaimOnce(db: D1Database, userId: string | undefined, orgId: string | undefined): Promise<OrgClaim> {
  const request = tryGetCurrentAuthEndpointContext()?.request;
  if (!request) return orgIdClaim(db, userId, orgId);
  const claims = claimsOfRequest.get(request) ?? new Map<string, Promise<OrgClaim>>();
  claimsOfRequest.set(request, claims);
  const key = JSON.stringify([userId ?? null, orgId ?? null]);
  const claim = claims.get(key) ?? orgIdClaim(db, userId, orgId);
  claims.set(key, claim);
  return claim;
}

/** The browser provider's bindings (auth/plugins/oauth-provider.ts): the issuer's signer, the org claim, the API's audience. */
export function oidcRuntime(env: Pick<AuthnEnv, "DB" | "TOKEN_SERVICE">, config: AuthnConfig): OidcRuntime {
  // The demo MCP server (in every org) is a resource too; metadata-document clients are linked to it on registration.
  const resources = [config.apiAudience, mcpResource(config.issuer, DEMO_MCP_SERVER.name)];
  const clientDiscovery = cimdClientDiscovery(metadataOutbound(env));
  const orgResources = orgMcpResources(env.DB, config.issuer, resources);
  return {
    sign: issuerSigner(env, env.DB),
    orgClaim: (userId, orgId) => orgClaimOnce(env.DB, userId, orgId),
    refreshGrantOrg: () => refreshGrantOrgOf(env.DB, tryGetCurrentAuthEndpointContext()?.request),
    resources,
    clientDiscovery,
    metadataDocumentResources: [mcpResource(config.issuer, DEMO_MCP_SERVER.name)],
    // Beyond those, an org's own registered MCP servers, for the people of that org.
    orgResources: {
      plugin: orgMcpResourcesPlugin(orgResources, config.issuer, clientDiscovery),
      assertActiveIn: orgResources.assertActiveIn,
    },
  };
}
