/**
 * The saved-token vault's contract: its public paths, the RPC the gateway
 * uses to have a saved token put on a request, and the refusals it answers.
 * The tokens themselves live only in the token Worker (sealed in D1,
 * shared/db/vault-schema.ts); the gateway receives one for the request it is
 * forwarding and never stores it.
 */
import { ENDPOINT } from "./endpoints.ts";

/** The vault's public paths (served by the token Worker through the gateway). */
export const VAULT_PATH = {
  /** Everything below it belongs to the vault; what is not a flow is refused `saved_token_not_readable`. */
  base: "/vault",
  /** `GET /vault/connect/<provider>`: a signed-in person connects their account at the org's provider. */
  connect: "/vault/connect",
  /** The redirect URI we register at every provider (RFC 6749 §3.1.2): the connection flow ends here. */
  callback: "/vault/callback",
} as const;

/**
 * Demo only: a path under the demo echo service that the gateway serves
 * with a saved connection for `resource`, so a test (or an operator) sees
 * what a downstream receives: the saved token, never the caller's.
 */
export const VAULT_DEMO = {
  path: `${ENDPOINT.demoEcho}/saved-token`,
  resource: "demo-echo",
} as const;

/** How long a connection flow may take from start to callback (seconds). */
export const VAULT_CONNECT_STATE_TTL_SECONDS = 600;

/**
 * A connection flow an operator client starts (the CLI) has no browser
 * session to bind to, so it starts nothing at the provider: it prints a
 * single-use link to a confirmation page of ours, where a signed-in admin or
 * owner of the org sees what will happen and, with a same-origin POST, binds
 * the flow to their own session before going to the provider (docs/vault.md).
 * The link's value is a capability: it travels in the query (request logs and
 * audit events keep the path only) and only its SHA-256 is stored.
 */
export const VAULT_CONNECT_LINK = {
  /** The console page that confirms a link (workers/authn/src/console/vault-confirm.tsx). */
  path: (orgId: string) => `${ENDPOINT.console}/orgs/${encodeURIComponent(orgId)}/vault/confirm`,
  /** The query parameter (and form field) that carries the link's value. */
  param: "link",
  /** How long a link waits for its confirmation (seconds); the provider leg then has VAULT_CONNECT_STATE_TTL_SECONDS. */
  ttlSeconds: 3600,
} as const;

/**
 * Refresh a saved access token this long before its expiry, so the token
 * put on a request does not expire on its way upstream (seconds).
 */
export const VAULT_REFRESH_MARGIN_SECONDS = 60;

/** What the gateway asks for: the saved token for this request, decided by who is asking. */
export interface SavedTokenRequest {
  /** The access token's `org_id`. */
  orgId: string;
  /** The access token's `sub`: a person (their own connection first) or a client acting as itself. */
  subject: string;
  /** The agent using it: `act.client_id` in a delegated request, else `client_id`. */
  agentClientId: string;
  /** The route's saved-connection resource (workers/gateway/src/routing/route-table.ts). */
  resource: string;
  /** The gateway's decision id, shared with the audit record. */
  decisionId: string;
  /** The upstream answered 401 to the token we gave: refresh it now (RFC 6750 §3.1 `invalid_token`). */
  forceRefresh?: boolean;
}

/**
 * Why no saved token is given (the gateway answers 403 `access_denied` with
 * the reason, or 503 for `vault_unavailable`):
 * - `no_saved_connection`: neither the subject nor the org connected this resource;
 * - `saved_connection_not_permitted`: a connection exists but this agent is not bound to it (default deny);
 * - `saved_connection_expired`: the access token expired and could not be refreshed (the owner must reconnect);
 * - `vault_unavailable`: the vault could not be read or decrypted.
 */
export type SavedTokenRefusal =
  | "no_saved_connection"
  | "saved_connection_not_permitted"
  | "saved_connection_expired"
  | "vault_unavailable";

export type SavedTokenResult =
  | {
      ok: true;
      /** The upstream `Authorization` header value (RFC 6750 §2.1), e.g. `Bearer …`. */
      authorization: string;
      connectionId: string;
    }
  | { ok: false; refusal: SavedTokenRefusal; connectionId?: string };

export interface VaultServiceRpc {
  /**
   * The saved token for one request, refreshed first when it is about to
   * expire (or `forceRefresh`). Every answer is audited (`vault.token_used`,
   * `vault.token_refused`) without the token. Never rejects for a refusal.
   */
  savedToken(request: SavedTokenRequest): Promise<SavedTokenResult>;
}
