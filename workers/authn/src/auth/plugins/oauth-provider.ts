import { oauthProvider } from "@better-auth/oauth-provider";
import { jwt } from "better-auth/plugins";
import { ENDPOINT } from "../../../../../shared/contracts/endpoints.ts";

/**
 * The OAuth 2.1 / OpenID provider for browser flows: authorization code with
 * PKCE, a consent page, refresh-token rotation. Its tokens share the one
 * issuer (DESIGN.md "One issuer").
 */
export function oauthProviderPlugins(issuer: string) {
  return [
    jwt({ jwt: { issuer } }),
    oauthProvider({
      loginPage: ENDPOINT.signIn,
      consentPage: ENDPOINT.consent,
      // RFC 9700 §2.1.1: PKCE for every client, S256 only.
      requirePKCE: true,
      allowDynamicClientRegistration: false,
      // `oauth_client` is the token Worker's table of machine and agent
      // clients (shared/db/machine-schema.ts); the browser provider's tables
      // carry an `oidc_` prefix so the two never meet.
      schema: {
        oauthClient: { modelName: "oidcClient" },
        oauthResource: { modelName: "oidcResource" },
        oauthClientResource: { modelName: "oidcClientResource" },
        oauthRefreshToken: { modelName: "oidcRefreshToken" },
        oauthAccessToken: { modelName: "oidcAccessToken" },
        oauthConsent: { modelName: "oidcConsent" },
        oauthClientAssertion: { modelName: "oidcClientAssertion" },
      },
    }),
  ];
}
