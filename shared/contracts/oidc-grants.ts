/**
 * The authn Worker's RPC entrypoint `OidcGrants`: the browser OpenID
 * provider's grants (authorization_code, refresh_token), redeemed for the
 * token Worker, whose ENDPOINT.token is the issuer's one token endpoint.
 * Reachable only over a service binding with `entrypoint = "OidcGrants"`;
 * Better Auth's own token and revocation paths are closed to the internet
 * (workers/authn/src/oidc/grant-entrypoint.ts), so nothing redeems a code
 * or a refresh token past the token endpoint's limits and audit.
 */

/** A token request as the token endpoint read it, with the client's own credentials. */
export interface BrowserGrantRequest {
  /** The application/x-www-form-urlencoded body. */
  form: string;
  /** RFC 6749 §2.3.1 client_secret_basic, as sent. */
  authorization?: string;
  /** RFC 9449 §4 proof, as sent. */
  dpop?: string;
  /** The client's address (the edge's `cf-connecting-ip`). */
  clientAddress?: string;
  /**
   * For a refresh grant or a revocation: the presented token's refresh token
   * row as the token Worker read it to find the grant whose turn it takes
   * (workers/token/src/oidc/grant-turns.ts), `null` when no row held it; the
   * authn Worker uses it rather than read the row again. Absent: the authn
   * Worker reads it itself.
   */
  presented?: PresentedRefreshToken | null;
}

/**
 * A browser refresh token's row, by its stored form (Better Auth's
 * `oidc_refresh_token`, shared/oidc/browser-grant-row.ts). `clientId`,
 * `orgId` and `grantId` never change for a row; `revoked` is as it stood
 * when read.
 */
export interface PresentedRefreshToken {
  clientId: string;
  /** The person the grant was consented by (the row's `user_id`): every token of it carries them as `sub`. */
  userId: string;
  /** The grant's org (Better Auth's `reference_id`, fixed at consent). */
  orgId: string | null;
  /** BROWSER_GRANT_ID_PREFIX and the code's stored form (`authorization_code_id`). */
  grantId: string | null;
  /** Revoked already (rotated away, RFC 7009, a sign-out everywhere) when it was read. */
  revoked: boolean;
  expiresAtMs: number;
}

/** The provider's answer: an RFC 6749 §5.1 or §5.2 JSON body and its status. */
export interface BrowserGrantAnswer {
  status: number;
  body: string;
  /**
   * From `revoke`: the authorization grant of the refresh token named, when
   * the answer revoked it or found it revoked already; from `grant`: the
   * grant of a refresh token used again after it was revoked (RFC 9700
   * §4.14.2, refused `invalid_grant`), or of a code used again after it was
   * redeemed with a refresh token (RFC 6749 §4.1.2, refused `invalid_grant`).
   * Read before the provider answered: an already revoked token's family,
   * and a replayed code's tokens, are deleted as it answers. The token
   * Worker records a `grant` revocation of it, after checking `clientId` is
   * the client the request names.
   */
  endedGrant?: EndedBrowserGrant;
}

/**
 * A browser authorization grant whose refresh token ended: every access
 * token it yielded carries `grantId` as its `grant_id`
 * (BROWSER_GRANT_ID_PREFIX, shared/contracts/oidc.ts) and `orgId` as its
 * `org_id` (the grant's reference, fixed at consent).
 */
export interface EndedBrowserGrant {
  clientId: string;
  /**
   * The person who consented to the grant: its refresh token rows'
   * `user_id`, which every access token of it carries as `sub`. The org's
   * object counts that person's browser-grant entries by it and, past
   * MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON (shared/contracts/revocation-recording.ts),
   * cuts the person off at that client instead: server-held, never from the request.
   */
  userId: string;
  orgId: string;
  grantId: string;
}

export interface OidcGrantsRpc {
  grant(request: BrowserGrantRequest): Promise<BrowserGrantAnswer>;
  /**
   * For an authorization_code grant: the refusal `grant` would answer from
   * its own checks before Better Auth (the code's client, redirect URI,
   * resource, PKCE verifier and DPoP binding, and the requests Better Auth
   * refuses before it reads the code: no client named, a public client's
   * without `code_verifier`), or undefined. Reads only: nothing spent,
   * nothing written, no DPoP `jti` reserved. The token Worker asks before it
   * takes the code's turn, so refused requests never fill it; a
   * `private_key_jwt` request naming the code's client passes (its assertion
   * is Better Auth's to verify, inside the turn).
   */
  precheck(request: BrowserGrantRequest): Promise<BrowserGrantAnswer | undefined>;
  /**
   * RFC 7009 for a browser client's tokens (its refresh tokens live in the
   * authn Worker), handed over by the token Worker's ENDPOINT.revocation.
   */
  revoke(request: BrowserGrantRequest): Promise<BrowserGrantAnswer>;
  /**
   * RFC 7662 for a browser client's refresh tokens (Better Auth's
   * `oidc_refresh_token` rows), handed over by the token Worker's
   * ENDPOINT.introspection: the client is authenticated as at revocation,
   * and the answer is `{"active": false}` or the token's members, `org_id`
   * included, while the refresh grant would still honour it.
   */
  introspect(request: BrowserGrantRequest): Promise<BrowserGrantAnswer>;
}

/** The binding as callers need it (declare it in the Worker's config.ts or where it is used). */
export type OidcGrantsBinding = Service<OidcGrantsRpc & Rpc.WorkerEntrypointBranded>;
