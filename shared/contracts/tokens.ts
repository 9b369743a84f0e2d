/**
 * Token kinds, token-type URIs, grant types and claim names: the one place
 * they are spelled. Every Worker imports them from here.
 */

/** Each JWT kind has its own `typ` (RFC 8725 §3.11) so one can never pass as another. */
export const JWT_TYP = {
  /** RFC 9068 §2.1 */
  accessToken: "at+jwt",
  /** OIDC Core §2: an ID token is a plain JWT; its `typ` must never read as an access token's. */
  idToken: "JWT",
  /** draft-ietf-oauth-identity-assertion-authz-grant */
  idJag: "oauth-id-jag+jwt",
  hostInvite: "mono-invite+jwt",
  /** A host's proof that it holds the key it registers at ENDPOINT.hostBootstrap (RFC 7800 §3.1 ideas). */
  hostBootstrapProof: "mono-host-pop+jwt",
  gatewayAssertion: "mono-gateway+jwt",
  /** RFC 9449 §4.2: a DPoP proof. */
  dpopProof: "dpop+jwt",
  /** OIDC Back-Channel Logout 1.0 §2.4: a Logout Token, typed so it can never pass for an ID token. */
  logoutToken: "logout+jwt",
} as const;

/** The one signing algorithm. Verifiers pin it; `none` and HMAC never pass. */
export const SIGNING_ALG = "ES256" as const;

/**
 * RFC 9449 §5.1 / RFC 8414 `dpop_signing_alg_values_supported`: the
 * asymmetric algorithms a client may sign a DPoP proof with (§4.3 step 5:
 * never `none`, never a MAC). RSA keys are held to 2048 bits by jose.
 */
export const DPOP_SIGNING_ALGS = ["ES256", "ES384", "EdDSA", "RS256", "PS256"] as const;

/** RFC 6749 §7.1 `token_type` of an issued access token: RFC 9449 §5 for a DPoP-bound one. */
export const ACCESS_TOKEN_TYPE = {
  bearer: "Bearer",
  dpop: "DPoP",
  /** RFC 8693 §2.2.1: the issued token is not an access token (an ID-JAG). */
  notApplicable: "N_A",
} as const;

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

/**
 * Every registered (oauth_client) client id starts with this, so one can
 * never equal a user's `sub` (RFC 9700 §4.15); shared/crypto/client-id.ts
 * makes them.
 */
export const CLIENT_ID_PREFIX = "mac_";

/**
 * The `org_id` of tokens minted for platform operator clients (oauth_client
 * rows with no org): they act on every org, so they belong to none. No
 * organization row has this id (Better Auth and the admin API generate ids).
 */
export const PLATFORM_ORG_ID = "platform";

/** RFC 7523 §2.2 `client_assertion_type` of a `private_key_jwt` client assertion. */
export const CLIENT_ASSERTION_TYPE_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

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
  /** RFC 9449 §6.1 / RFC 7800: the token is bound to this DPoP key (RFC 7638 thumbprint). */
  cnf?: { jkt: string };
  /**
   * The delegation grant the token was minted under (a private claim), or
   * on a browser access token the authorization grant it came from
   * (BROWSER_GRANT_ID_PREFIX, shared/contracts/oidc.ts): a `grant`
   * revocation of this id cuts the token off (shared/revocation).
   */
  grant_id?: string;
  /**
   * The delegation grants of the tokens this one was exchanged from, when
   * they rest on other grants than `grant_id` (a private claim, at most
   * MAX_GRANT_CHAIN_LENGTH): a token made from a delegated token rests on
   * that token's grant too, so a `grant` revocation of any of them cuts it
   * off (shared/revocation).
   */
  grant_chain?: string[];
  /**
   * The client each browser authorization grant of `grant_chain` was issued
   * to (a private claim): `{ "<browser grant id>": "<client id>" }`, one
   * member for every BROWSER_GRANT_ID_PREFIX id of `grant_chain` and no
   * other, absent when the chain names none. A token made from a person's
   * browser token through a delegation keeps their `sub` but not the
   * browser client, so a `client_subject` cut-off of (C, P) reads here
   * whether the token rests on P's grant at C (shared/revocation). A chain
   * naming a browser grant without it was signed before the claim existed
   * and is refused by any such cut-off of the person (the old, conservative
   * rule), so no deploy lets one through. Validated by isGrantChainClients
   * (shared/revocation/grant-chain-clients.ts) wherever claims are read.
   */
  grant_chain_clients?: Record<string, string>;
  /**
   * The tokens of ours this one was derived from by RFC 8693 token exchange
   * (each subject token, nearest last, and each actor token of ours, §2.1,
   * before the subject token it acted on; through an ID-JAG of ours, those
   * of its exchange), each jti once, each as its revocation is matched: its
   * `jti`, `client_id` and `iat`, signed here so nothing the holder or a
   * user changes afterwards moves it. RFC 7009 §2.1 lets a revocation also
   * end the tokens derived from the revoked one: a `jti` entry of any of
   * them, or a `client` cut-off of its client at or after its `iat` (the
   * fold of that client's RFC 7009 entries, docs/revocation.md), refuses
   * this token too (shared/revocation/derived-from.ts). At most
   * MAX_DERIVED_FROM_LENGTH; absent on a token minted from no token of ours.
   */
  derived_from?: DerivedFrom[];
}

/** One token another was derived from (AccessTokenClaims.derived_from): what its revocation is matched by. */
export interface DerivedFrom {
  jti: string;
  client_id: string;
  /** Seconds since the epoch: the token's own `iat`, which a `client` cut-off compares with. */
  iat: number;
}

/**
 * The deepest `act` chain (RFC 8693 §4.1) an org's `max_delegation_depth`
 * may allow, and the verifier follows (shared/jwt/verify-access-token.ts).
 */
export const MAX_DELEGATION_DEPTH = 8;

/**
 * The most tokens a `derived_from` names: two per delegation link (the
 * subject token and the agent's own actor token) at the deepest chain an
 * org may allow (MAX_DELEGATION_DEPTH), so a chain of distinct
 * agents is bounded by the org's policy, not by this list. A gateway's check
 * of a token's ancestry costs at most three hash lookups each, and the
 * largest token stays under the gateway's Authorization cap
 * (test/gateway/largest-token.test.ts). An exchange whose token would name
 * more is refused (RFC 8693 §2.2.2 `invalid_request`): present tokens
 * nearer their origin.
 */
export const MAX_DERIVED_FROM_LENGTH = 2 * MAX_DELEGATION_DEPTH;

/** The most grants a token's `grant_chain` may name; an exchange that would need more is refused. */
export const MAX_GRANT_CHAIN_LENGTH = 16;

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

/**
 * The longest a host invite may live (24 h). A signing key must stay in the
 * JWKS at least this long after it stops signing, or the invites it signed
 * stop verifying before they expire.
 */
export const MAX_HOST_INVITE_TTL_SECONDS = 86_400;

/**
 * The longest an ID-JAG may live, issued or accepted (draft-ietf-oauth-
 * identity-assertion-authz-grant: a short-lived grant, five minutes).
 */
export const MAX_ID_JAG_LIFETIME_SECONDS = 300;

/**
 * draft-ietf-oauth-identity-assertion-authz-grant §7.2: the profile a
 * resource authorization server lists in `authorization_grant_profiles_supported`.
 */
export const ID_JAG_GRANT_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag";

/**
 * A private claim (RFC 7519 §4.3, named as a URI so that no other issuer's
 * claim can collide with it, §4.2) of the ID-JAGs we issue for our own
 * issuer: seconds since the epoch, the latest the tokens the grant was made
 * from allow — the subject and actor tokens' `exp`, the delegation grant's
 * end. The grant's own `exp` bounds only when it may be redeemed (at most
 * MAX_ID_JAG_LIFETIME_SECONDS); redeeming it here never mints a token that
 * lives past this (grants/jwt-bearer.ts).
 */
export const ID_JAG_NOT_AFTER_CLAIM = "urn:mono-auth:claim:not-after";

/**
 * A private claim of the ID-JAGs we issue for our own issuer, named like
 * ID_JAG_NOT_AFTER_CLAIM: the delegation grants the exchange rested on (its
 * own grant, then the subject token's `grant_id` and `grant_chain`, at most
 * MAX_GRANT_CHAIN_LENGTH + 1). A token redeemed from the grant rests on them
 * too (`grant_chain`), as a direct exchange's would (grants/jwt-bearer.ts).
 */
export const ID_JAG_GRANTS_CLAIM = "urn:mono-auth:claim:grants";

/**
 * A private claim of the ID-JAGs we issue for our own issuer, named like
 * ID_JAG_GRANTS_CLAIM: the client each browser authorization grant among
 * those grants was issued to, shaped like an access token's
 * `grant_chain_clients` (one member per browser grant id, no other). A
 * token redeemed from the grant carries it as `grant_chain_clients`
 * (grants/jwt-bearer.ts); a grant without it (signed before it existed)
 * redeems to a token without it, which the old, conservative rule covers.
 */
export const ID_JAG_GRANT_CLIENTS_CLAIM = "urn:mono-auth:claim:grant-clients";

/**
 * A private claim of the ID-JAGs we issue for our own issuer, named like
 * ID_JAG_GRANTS_CLAIM: the tokens the grant was derived from (its
 * exchange's actor token of ours, then the subject token's, the subject
 * token last), shaped like an access token's
 * `derived_from`. Revoking one by `jti` refuses the grant's redemption and
 * what it is redeemed for, which carries it as `derived_from`
 * (grants/jwt-bearer.ts).
 */
export const ID_JAG_DERIVED_FROM_CLAIM = "urn:mono-auth:claim:derived-from";

/**
 * Claims of an Identity Assertion JWT Authorization Grant (the draft's
 * §3.1) as Mono-Auth issues and reads it. `tenant` is the org the subject
 * belongs to (§6.1: a multi-tenant issuer names the tenant).
 */
export interface IdJagClaims {
  iss: string;
  sub: string;
  /** The resource authorization server's issuer identifier (RFC 8414 §2). */
  aud: string | string[];
  /** The client at the resource authorization server that will act for `sub`. */
  client_id: string;
  jti: string;
  exp: number;
  iat: number;
  /** RFC 8707 §2 resource indicator(s) of the resource server. */
  resource?: string | string[];
  scope?: string;
  tenant?: string;
  /** The human session behind the grant (OIDC `sid`), so its end cuts the grant off. */
  sid?: string;
  /** RFC 8693 §4.1, when the subject token was itself delegated. */
  act?: ActorClaim;
  /** The draft's §9.8 / RFC 9449 §6.1: only a client proving this DPoP key may redeem it. */
  cnf?: { jkt: string };
  /** Ours only (ID_JAG_NOT_AFTER_CLAIM): the latest a token redeemed from it may live to. */
  [ID_JAG_NOT_AFTER_CLAIM]?: number;
  /** Ours only (ID_JAG_GRANTS_CLAIM): the delegation grants a token redeemed from it rests on. */
  [ID_JAG_GRANTS_CLAIM]?: string[];
  /** Ours only (ID_JAG_GRANT_CLIENTS_CLAIM): the client of each browser grant among them. */
  [ID_JAG_GRANT_CLIENTS_CLAIM]?: Record<string, string>;
  /** Ours only (ID_JAG_DERIVED_FROM_CLAIM): the tokens it was derived from. */
  [ID_JAG_DERIVED_FROM_CLAIM]?: DerivedFrom[];
}

/** Seconds of clock skew every verifier tolerates on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Claims every access token must carry (DESIGN: exp, iat, jti always). */
export const REQUIRED_ACCESS_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "org_id"] as const;
