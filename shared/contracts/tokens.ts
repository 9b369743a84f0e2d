/**
 * Token kinds, token-type URIs, grant types and claim names: the one place
 * they are spelled. Every Worker imports them from here.
 */

/** Each JWT kind has its own `typ` (RFC 8725 §3.11) so one can never pass as another. */
export const JWT_TYP = {
  /** RFC 9068 §2.1 */
  accessToken: "at+jwt",
  /** draft-ietf-oauth-identity-assertion-authz-grant */
  idJag: "oauth-id-jag+jwt",
  hostInvite: "mono-invite+jwt",
  gatewayAssertion: "mono-gateway+jwt",
} as const;

/** The one signing algorithm. Verifiers pin it; `none` and HMAC never pass. */
export const SIGNING_ALG = "ES256" as const;

/** RFC 8693 §3 token type identifiers, plus our own for a Better Auth session. */
export const TOKEN_TYPE = {
  accessToken: "urn:ietf:params:oauth:token-type:access_token",
  jwt: "urn:ietf:params:oauth:token-type:jwt",
  idJag: "urn:ietf:params:oauth:token-type:id-jag",
  /** A signed-in browser session's token, as Better Auth hands it out. */
  session: "urn:mono-auth:params:oauth:token-type:session",
} as const;

export const GRANT_TYPE = {
  tokenExchange: "urn:ietf:params:oauth:grant-type:token-exchange",
  jwtBearer: "urn:ietf:params:oauth:grant-type:jwt-bearer",
  clientCredentials: "client_credentials",
} as const;

/**
 * The first-party client that the edge login pages use. It is public (a
 * browser cannot keep a secret), so it may only exchange a live session.
 */
export const FIRST_PARTY_CLIENT_ID = "mono-auth-web";

/** Claims of an RFC 9068 access token as Mono-Auth issues it. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  org_id: string;
  /** RFC 9068 §2.2.3.1 / RFC 7643 roles of the subject in `org_id`. */
  roles?: string[];
  /** The human session the token is bound to; revoked with it. */
  sid?: string;
  /** RFC 8693 §4.1 delegation: who acts for `sub` (nested for chains). */
  act?: ActorClaim;
}

export interface ActorClaim {
  sub: string;
  client_id?: string;
  act?: ActorClaim;
}

/**
 * No access token lives longer than this, whatever a Worker is configured
 * with. Verifiers refuse a token whose `exp - iat` is longer, and a
 * revocation entry can be forgotten this long (plus the clock tolerance)
 * after it is made.
 */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 3600;

/** Seconds of clock skew every verifier tolerates on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Claims every access token must carry (DESIGN: exp, iat, jti always). */
export const REQUIRED_ACCESS_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "org_id"] as const;
