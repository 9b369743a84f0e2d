import { OIDC_ENDPOINT, OIDC_SCOPE, PKCE_METHOD } from "../../../../shared/contracts/oidc.ts";
import { BROWSER_GRANT_TYPES } from "./forward-browser-grant.ts";

/**
 * What the browser OpenID provider (the authn Worker) adds to the one
 * issuer's metadata (RFC 8414 §2, OIDC Discovery §3). Only what it really
 * serves: the code flow alone (no implicit, no hybrid), PKCE S256 alone.
 */
export function browserProviderMetadata(issuer: string) {
  return {
    authorization_endpoint: `${issuer}${OIDC_ENDPOINT.authorize}`,
    userinfo_endpoint: `${issuer}${OIDC_ENDPOINT.userinfo}`,
    // OIDC RP-Initiated Logout 1.0 §2.1: every operator-registered client may use it.
    end_session_endpoint: `${issuer}${OIDC_ENDPOINT.endSession}`,
    // OIDC Back-Channel Logout 1.0 §2.1: a client that registers a `backchannel_logout_uri` gets a
    // Logout Token, with `sid`, when a session it holds tokens of ends.
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types: [...BROWSER_GRANT_TYPES],
    scopes: Object.values(OIDC_SCOPE),
    // RFC 7636 §4.2 / RFC 9700 §2.1.1: never `plain`.
    code_challenge_methods_supported: [PKCE_METHOD],
    // RFC 9207 §3: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: true,
    // OIDC Discovery §3 defaults this to true; authorization requests by reference are
    // refused (Better Auth's `request_uri_not_supported`, OIDC Core §6.3), so it is said.
    request_uri_parameter_supported: false,
    // draft-ietf-oauth-client-id-metadata-document §5: an https client_id is
    // resolved from its metadata document (workers/authn/src/mcp-clients).
    client_id_metadata_document_supported: true,
  };
}

/** OIDC Discovery §3 fields only an OpenID Provider lists. */
export const ID_TOKEN_CLAIMS_SUPPORTED = [
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "auth_time",
  "nonce",
  "at_hash",
  // OIDC Front-/Back-Channel and RP-Initiated Logout: the session an ID token was issued in.
  "sid",
  "name",
  "email",
  "email_verified",
  "picture",
] as const;
