import type { Context } from "hono";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { DPOP_SIGNING_ALGS, GRANT_TYPE, SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { TOKEN_ENDPOINT_AUTH_METHODS, TOKEN_ENDPOINT_AUTH_SIGNING_ALGS } from "../clients/authenticate.ts";
import { tokenConfig } from "../config.ts";
import { AUTHORIZATION_GRANT_PROFILES } from "../grants/jwt-bearer.ts";
import { ADVERTISED_GRANT_TYPES } from "../grants/registry.ts";
import { IDENTITY_CHAINING_TOKEN_TYPES } from "../grants/token-exchange.ts";
import { browserProviderMetadata, ID_TOKEN_CLAIMS_SUPPORTED } from "../oidc/browser-metadata.ts";
import { MANAGING_CLIENT_AUTH_METHODS } from "../presented-tokens/managing-client.ts";

/** The documents change only with a deployment; a short public cache is safe. */
const METADATA_CACHE = "public, max-age=300";

type TokenContext = Context<{ Bindings: TokenEnv }>;

/**
 * RFC 8414 authorization-server metadata for the one issuer. Only what is
 * really served is listed: the grant types and client authentication
 * methods come from their registries (grants/registry.ts,
 * clients/authenticate.ts), so they cannot drift from the endpoint.
 */
export function authorizationServerMetadata(issuer: string) {
  // The browser OpenID provider's part (oidc/browser-metadata.ts): its
  // authorization and userinfo endpoints, its grants forwarded by ENDPOINT.token.
  const { grant_types: browserGrants, scopes: browserScopes, ...browser } = browserProviderMetadata(issuer);
  return {
    issuer,
    ...browser,
    jwks_uri: `${issuer}${ENDPOINT.jwks}`,
    token_endpoint: `${issuer}${ENDPOINT.token}`,
    // Ours (docs/endpoints.md, "Host bootstrap"): where a host redeems its invite.
    host_bootstrap_endpoint: `${issuer}${ENDPOINT.hostBootstrap}`,
    // §2: omitting it would mean ["authorization_code", "implicit"]; an
    // empty list says that no grant is open to clients yet.
    grant_types_supported: [...browserGrants, ...ADVERTISED_GRANT_TYPES],
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    ...(TOKEN_ENDPOINT_AUTH_SIGNING_ALGS.length > 0
      ? { token_endpoint_auth_signing_alg_values_supported: [...TOKEN_ENDPOINT_AUTH_SIGNING_ALGS] }
      : {}),
    // RFC 8414 §2 / RFC 7009, RFC 7662: authenticated clients only.
    revocation_endpoint: `${issuer}${ENDPOINT.revocation}`,
    revocation_endpoint_auth_methods_supported: [...MANAGING_CLIENT_AUTH_METHODS],
    introspection_endpoint: `${issuer}${ENDPOINT.introspection}`,
    introspection_endpoint_auth_methods_supported: [...MANAGING_CLIENT_AUTH_METHODS],
    ...(TOKEN_ENDPOINT_AUTH_SIGNING_ALGS.length > 0
      ? {
          revocation_endpoint_auth_signing_alg_values_supported: [...TOKEN_ENDPOINT_AUTH_SIGNING_ALGS],
          introspection_endpoint_auth_signing_alg_values_supported: [...TOKEN_ENDPOINT_AUTH_SIGNING_ALGS],
        }
      : {}),
    // draft-ietf-oauth-identity-chaining / the ID-JAG draft §7.1: what token
    // exchange issues for identity chaining (an ID-JAG), as an IdP.
    ...(ADVERTISED_GRANT_TYPES.includes(GRANT_TYPE.tokenExchange)
      ? { identity_chaining_requested_token_types_supported: [...IDENTITY_CHAINING_TOKEN_TYPES] }
      : {}),
    // The ID-JAG draft §7.2: what jwt-bearer redeems, as a resource
    // authorization server; only alongside jwt-bearer in grant_types_supported.
    ...(ADVERTISED_GRANT_TYPES.includes(GRANT_TYPE.jwtBearer)
      ? { authorization_grant_profiles_supported: [...AUTHORIZATION_GRANT_PROFILES] }
      : {}),
    // RFC 9449 §5.1
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
    scopes_supported: [...browserScopes, ...ALL_SCOPES],
    // RFC 9068 §2.1 / RFC 8414 §2
    access_token_signing_alg_values_supported: [SIGNING_ALG],
  };
}

/** OpenID discovery (OIDC Discovery §3) for the same issuer. */
export function openIdConfiguration(issuer: string) {
  return {
    ...authorizationServerMetadata(issuer),
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [SIGNING_ALG],
    claims_supported: [...ID_TOKEN_CLAIMS_SUPPORTED],
  };
}

export function authorizationServerMetadataEndpoint(c: TokenContext): Response {
  return c.json(authorizationServerMetadata(tokenConfig(c.env).issuer), 200, { "Cache-Control": METADATA_CACHE });
}

export function openIdConfigurationEndpoint(c: TokenContext): Response {
  return c.json(openIdConfiguration(tokenConfig(c.env).issuer), 200, { "Cache-Control": METADATA_CACHE });
}
