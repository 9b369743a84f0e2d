/**
 * The browser OpenID provider (the authn Worker's `@better-auth/oauth-provider`)
 * on the one issuer (DESIGN.md "One issuer"): its public paths, the shape of
 * its client ids and the claims its tokens carry. Spelled once; the token
 * Worker's metadata, its signer and the authn Worker import them.
 */
import { ENDPOINT } from "./endpoints.ts";

/** Better Auth serves the provider below ENDPOINT.authApi; these are its public paths. */
export const OIDC_ENDPOINT = {
  /** RFC 6749 §3.1 / OIDC Core §3.1.2 */
  authorize: `${ENDPOINT.authApi}/oauth2/authorize`,
  /** OIDC Core §5.3 */
  userinfo: `${ENDPOINT.authApi}/oauth2/userinfo`,
  /** Where the provider's own token endpoint listens; clients use ENDPOINT.token, which forwards here. */
  token: `${ENDPOINT.authApi}/oauth2/token`,
  /** Where the provider's own RFC 7009 endpoint listens; clients use ENDPOINT.revocation, which hands over here. */
  revocation: `${ENDPOINT.authApi}/oauth2/revoke`,
  /** The provider's own RFC 7662 endpoint, closed: it knows none of the issuer's revocations (clients use ENDPOINT.introspection). */
  introspection: `${ENDPOINT.authApi}/oauth2/introspect`,
  /** Better Auth's consent decision (the consent page posts to it server-side). */
  consent: `${ENDPOINT.authApi}/oauth2/consent`,
  /** OIDC RP-Initiated Logout 1.0 §2 (GET or POST), for a client with `enable_end_session` (every operator-registered one). */
  endSession: `${ENDPOINT.authApi}/oauth2/end-session`,
  /** Its confirmation (POST), when the request named no usable `id_token_hint` (RP-Initiated Logout §2, §6). */
  endSessionConfirm: `${ENDPOINT.authApi}/oauth2/end-session/confirm`,
} as const;

/**
 * Every browser (OIDC) client id starts with this, so it never equals a
 * machine client id (`mac_`, shared/contracts/tokens.ts) or a user `sub`
 * (RFC 9700 §4.15), and the token endpoint can tell whose grant it is.
 */
export const OIDC_CLIENT_ID_PREFIX = "oidc_";

/** OIDC Core §5.4 scopes plus `offline_access` (§11) for refresh tokens. */
export const OIDC_SCOPE = {
  openid: "openid",
  profile: "profile",
  email: "email",
  offlineAccess: "offline_access",
} as const;

/** RFC 6749 grant types the browser provider completes (at ENDPOINT.token, forwarded). */
export const OIDC_GRANT_TYPE = {
  authorizationCode: "authorization_code",
  refreshToken: "refresh_token",
} as const;

/** The one PKCE method (RFC 7636 §4.2; RFC 9700 §2.1.1: never `plain`). */
export const PKCE_METHOD = "S256";

/**
 * The one response mode (OAuth 2.0 Multiple Response Type Encoding Practices
 * §2.1): the code flow's default, the response in the redirect URI's query.
 */
export const RESPONSE_MODE = "query";

/** The most an ID token lives (seconds): the signer refuses longer. */
export const MAX_ID_TOKEN_TTL_SECONDS = 3600;

/**
 * OIDC Back-Channel Logout 1.0 §2.4: the one member of a Logout Token's
 * `events`, and the longest it may live (seconds; the spec recommends at
 * most two minutes, which is what Better Auth asks for).
 */
export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";
export const MAX_LOGOUT_TOKEN_TTL_SECONDS = 120;

/** The audience Better Auth adds to an access token that may call userinfo. */
export function userinfoAudience(issuer: string): string {
  return `${issuer}${OIDC_ENDPOINT.userinfo}`;
}

/**
 * RFC 7009 §2.1: revoking a refresh token SHOULD also invalidate "all access
 * tokens based on the same authorization grant". Every JWT access token a
 * browser grant yields (its code's, and every refresh's after it) carries
 * `grant_id` = this prefix and Better Auth's id of the authorization: its
 * `authorization_code_id`, which the code's refresh token keeps through
 * every rotation (workers/authn/src/oidc/browser-grant.ts). Revoking a
 * refresh token of the grant records a `grant` revocation of that id in the
 * grant's org (workers/token/src/oidc/browser-revocation.ts), which every
 * verifier already applies (shared/revocation/is-token-revoked.ts). The id
 * is the stored form of a code already spent (a base64url SHA-256 digest):
 * nothing can be redeemed with it. The prefix keeps it apart from delegation
 * grant ids, which share the claim and the revocation kind.
 */
export const BROWSER_GRANT_ID_PREFIX = "oidc-grant:";

/** A browser grant id as the signer accepts it: the prefix, then a 43-character base64url digest. */
export const BROWSER_GRANT_ID = /^oidc-grant:[A-Za-z0-9_-]{43}$/;
