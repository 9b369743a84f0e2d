import { GRANT_TYPE, SIGNING_ALG } from "../../../shared/contracts/tokens.ts";
import { SUPPORTED_SCOPES } from "./grants/token-exchange.ts";

/**
 * RFC 8414 authorization-server metadata for the one issuer. Only what is
 * really served is listed; later issues add endpoints as they land.
 */
export function authorizationServerMetadata(issuer: string) {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/oauth2/token`,
    grant_types_supported: [GRANT_TYPE.tokenExchange],
    token_endpoint_auth_methods_supported: ["none"],
    scopes_supported: [...SUPPORTED_SCOPES],
    response_types_supported: [] as string[],
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
  };
}
