import type { OidcRuntime } from "../auth/plugins/oauth-provider.ts";
import type { AuthnConfig } from "../config.ts";
import { DEMO_MCP_SERVER, mcpResource } from "../../../../shared/contracts/mcp.ts";
import { cimdClientDiscovery } from "../mcp-clients/client-discovery.ts";
import { metadataOutbound } from "../mcp-clients/outbound.ts";
import { issuerSigner } from "./issuer-signer.ts";
import { orgIdClaim } from "./org-claim.ts";

/** The browser provider's bindings (auth/plugins/oauth-provider.ts): the issuer's signer, the org claim, the API's audience. */
export function oidcRuntime(env: Pick<AuthnEnv, "DB" | "TOKEN_SERVICE">, config: AuthnConfig): OidcRuntime {
  return {
    sign: issuerSigner(env),
    orgClaim: (userId, orgId) => orgIdClaim(env.DB, userId, orgId),
    // The demo MCP server (in every org) is a resource too; metadata-document clients may ask only for it.
    resources: [config.apiAudience, mcpResource(config.issuer, DEMO_MCP_SERVER.name)],
    clientDiscovery: cimdClientDiscovery(metadataOutbound(env)),
    metadataDocumentResources: [mcpResource(config.issuer, DEMO_MCP_SERVER.name)],
  };
}
