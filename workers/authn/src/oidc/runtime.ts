import type { OidcRuntime } from "../auth/plugins/oauth-provider.ts";
import type { AuthnConfig } from "../config.ts";
import { issuerSigner } from "./issuer-signer.ts";
import { orgIdClaim } from "./org-claim.ts";

/** The browser provider's bindings (auth/plugins/oauth-provider.ts): the issuer's signer, the org claim, the API's audience. */
export function oidcRuntime(env: Pick<AuthnEnv, "DB" | "TOKEN_SERVICE">, config: AuthnConfig): OidcRuntime {
  return {
    sign: issuerSigner(env),
    orgClaim: (userId, orgId) => orgIdClaim(env.DB, userId, orgId),
    resources: [config.apiAudience],
  };
}
