/**
 * The token Worker's RPC entrypoint (`TokenService`), reachable only over a
 * service binding, never from the internet: the gateway routes public paths
 * to the token Worker's `fetch`, not to this class. Callers bind it with
 * `entrypoint = "TokenService"`.
 */

/** What the authn Worker asks for after it has read the session from the cookie itself. */
export interface SessionExchangeRequest {
  /** The Better Auth session token, as read server-side from the signed cookie. */
  sessionToken: string;
  audience: string;
  /** Space-delimited (RFC 6749 §3.3); the default scope when absent. */
  scope?: string;
}

/**
 * An RFC 6749 §5.1 success body or a §5.2 error body, with the HTTP status
 * the caller should answer with; the caller passes it on unchanged.
 */
export interface TokenServiceResult {
  status: number;
  body: Record<string, string | number>;
}

export interface TokenServiceRpc {
  /**
   * RFC 8693 exchange of a first-party browser session for an access token,
   * on the authn Worker's behalf (docs/endpoints.md, "Session exchange"),
   * for the first-party client. Before a token is signed, the (session, org)
   * pair is recorded in `session_org`, so ending the session can revoke it in
   * every org it minted for. Never rejects for a refusal; the body's `error`
   * is one of: `invalid_request` (no session token or audience),
   * `invalid_target` (audience not allowed), `invalid_scope` (unknown scope),
   * `invalid_grant` (session unknown, expired or signed out, no active org,
   * or no longer a member), `server_error` (500).
   */
  exchangeSession(request: SessionExchangeRequest): Promise<TokenServiceResult>;
  /**
   * The JWKS as D1 has it, for a verifier that met an unknown `kid`. Public
   * clients read the KV copy at /.well-known/jwks.json instead.
   */
  jwks(): Promise<{ keys: JsonWebKey[] }>;
  /**
   * An org's policy version as D1 holds it: the document JSON its KV
   * snapshot (KV_KEY.policy) holds byte for byte, or null when the org has
   * no such version. For a gateway whose location's KV does not show the
   * snapshot of the version the org's Durable Object names current yet.
   */
  policySnapshot(orgId: string, version: number): Promise<string | null>;
  /**
   * Signs a browser-flow token with the issuer's current key after checking
   * the invariants every token of the one issuer keeps
   * (workers/token/src/oidc/sign-browser-token.ts): `iss` is the issuer;
   * an access token carries `sub`, `client_id`, `org_id`, `jti`, only
   * audiences the issuer serves and at most MAX_ACCESS_TOKEN_TTL_SECONDS of
   * life; an ID token is for a browser client and lives at most
   * MAX_ID_TOKEN_TTL_SECONDS.
   */
  signBrowserToken(request: BrowserTokenSigningRequest): Promise<BrowserTokenSigningResult>;
}

/**
 * A token the browser OpenID provider (the authn Worker's Better Auth
 * `oauth-provider`, through its jwt plugin's `sign`) asks the one issuer to
 * sign with its current key, so it verifies against ENDPOINT.jwks.
 */
export interface BrowserTokenSigningRequest {
  /**
   * `access_token`: `typ` at+jwt (RFC 9068 §2.1); `id_token`: `typ` JWT (OIDC
   * Core §2); `logout_token`: `typ` logout+jwt (OIDC Back-Channel Logout 1.0 §2.4).
   */
  kind: "access_token" | "id_token" | "logout_token";
  /** The complete claim set; the signer checks it and never adds to it. */
  claims: Record<string, unknown>;
}

/** The compact JWS, or why the claim set was refused (a code for the log, never shown to a client). */
export type BrowserTokenSigningResult = { ok: true; token: string } | { ok: false; error: string };

/** The binding as callers need it (declare it in the Worker's config.ts). */
export type TokenServiceBinding = Service<TokenServiceRpc & Rpc.WorkerEntrypointBranded>;
