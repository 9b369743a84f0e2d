import type { OidcRuntime } from "../auth/plugins/oauth-provider.ts";
import type { AuthnConfig } from "../config.ts";
import { DEMO_MCP_SERVER, mcpResource } from "../../../../shared/contracts/mcp.ts";
import { cimdClientDiscovery } from "../mcp-clients/client-discovery.ts";
import { orgMcpResources, orgMcpResourcesPlugin } from "../mcp-clients/org-resources.ts";
import { metadataOutbound } from "../mcp-clients/outbound.ts";
import { issuerSigner } from "./issuer-signer.ts";
import { orgIdClaim } from "./org-claim.ts";

/** The browser provider's bindings (auth/plugins/oauth-provider.ts): the issuer's signer, the org claim, the API's audience. */
export function oidcRuntime(env: Pick<AuthnEnv, "DB" | "TOKEN_SERVICE">, config: AuthnConfig): OidcRuntime {
  // The demo MCP server (in every org) is a resource too; metadata-document clients are linked to it on registration.
  const resources = [config.apiAudience, mcpResource(config.issuer, DEMO_MCP_SERVER.name)];
  const clientDiscovery = cimdClientDiscovery(metadataOutbound(env));
  const orgResources = orgMcpResources(env.DB, config.issuer, resources);
  return {
    sign: issuerSigner(env, env.DB),
    orgClaim: (userId, orgId) => orgIdClaim(env.DB, userId, orgId),
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
