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
}

/** The binding as callers need it (declare it in the Worker's config.ts). */
export type TokenServiceBinding = Service<TokenServiceRpc & Rpc.WorkerEntrypointBranded>;
