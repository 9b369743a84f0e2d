/**
 * Every public path of the one origin, spelled once. The gateway's route
 * table, the Workers' routers, the metadata documents and the tests import
 * them from here.
 */
export const ENDPOINT = {
  /** RFC 6749 §3.2 */
  token: "/oauth2/token",
  /** RFC 7009 */
  revocation: "/oauth2/revoke",
  /** RFC 7662 */
  introspection: "/oauth2/introspect",
  /** RFC 7517 */
  jwks: "/.well-known/jwks.json",
  /** RFC 8414 §3 */
  authorizationServerMetadata: "/.well-known/oauth-authorization-server",
  /** OpenID Connect Discovery 1.0 §4 */
  openIdConfiguration: "/.well-known/openid-configuration",
  /** Host bootstrap: a host redeems its invite JWT and registers its key. */
  hostBootstrap: "/oauth2/host-bootstrap",
  /** RFC 7591 Dynamic Client Registration, one endpoint per org below it (`/oauth2/register/<org>`), open only where the org turned it on. */
  clientRegistration: "/oauth2/register",
  /** The versioned admin API (operators and the `mono-auth` CLI). */
  admin: "/admin/v1",
  /**
   * The agent API (token Worker): MCP server discovery and access requests,
   * for an agent's token of the API audience (shared/contracts/mcp.ts AGENT_API).
   */
  agentApi: "/agent/v1",
  /** The admin API's OpenAPI 3.1 document (public: it describes, it grants nothing). */
  adminOpenApi: "/admin/v1/openapi.json",
  /** Better Auth's API (its own routes below this prefix). */
  authApi: "/api/auth",
  /**
   * The first-party page's session-to-token exchange, done on the server
   * from the session cookie (docs/endpoints.md, "Session exchange").
   */
  sessionToken: "/app/token",
  home: "/",
  signIn: "/sign-in",
  signUp: "/sign-up",
  signOut: "/sign-out",
  app: "/app",
  /**
   * Liveness: the gateway answers it for itself and the Workers it binds;
   * each Worker answers its own on its service binding.
   */
  health: "/health",
  /** The operator console: server-rendered pages over the admin API (workers/authn/src/console). */
  console: "/console",
  /** OAuth consent for browser flows (the authn Worker's OIDC provider). */
  consent: "/consent",
  verifyEmail: "/verify-email",
  forgotPassword: "/forgot-password",
  resetPassword: "/reset-password",
  /** The owner's link past the sign-in delay (workers/authn/src/limits/unlock-sign-in.ts). */
  unlockSignIn: "/unlock-sign-in",
  /** The account unlock link redeemed as JSON, for API-only clients (workers/authn/src/api/unlock-account.ts). */
  unlockAccount: "/api/auth/unlock-account",
  /** The second-factor challenge after a password sign-in. */
  twoFactor: "/two-factor",
  /** A person's own account: sessions, passkeys, 2FA, API keys. */
  account: "/account",
  /** Dev only (never in production): the local mailbox a developer reads mail in. */
  devMailbox: "/dev/mailbox",
  /** The demo downstream service, behind the gateway. */
  documents: "/api/documents",
  /** Demo only: echoes what a downstream receives, to test the gateway's header rules. */
  demoEcho: "/api/echo",
  /** The demo MCP server (streamable HTTP, JSON-RPC over POST), behind the gateway. */
  mcpDemo: "/mcp/demo",
  /**
   * RFC 9728 §3: an MCP route's protected-resource metadata is at this path
   * followed by the route's own path; the bare path is the root form.
   */
  protectedResourceMetadata: "/.well-known/oauth-protected-resource",
  /** The gateway's public keys for its signed assertions (shared/gateway-assertion); never the issuer's JWKS. */
  gatewayJwks: "/.well-known/gateway-jwks.json",
  /** SSF 1.0 §7.2: the transmitter's configuration metadata. */
  ssfConfiguration: "/.well-known/ssf-configuration",
  /**
   * The Shared Signals transmitter's endpoints (stream management, status,
   * subjects, verification, poll) and the org's live revocation stream for
   * its own clients: everything below it needs a token for ssfAudience.
   */
  ssf: "/ssf",
  /**
   * SCIM 2.0 (RFC 7644 §3.2): an org's directory provisions people and groups
   * below it with the org's SCIM bearer token (workers/authn/src/scim/).
   */
  scim: "/scim/v2",
} as const;

/** The realm named in every `WWW-Authenticate` challenge (RFC 6750 §3, RFC 7617 §2). */
export const REALM = "mono-auth";

/** The audience of tokens for the admin API: the issuer's admin path. */
export function adminAudience(issuer: string): string {
  return `${issuer}${ENDPOINT.admin}`;
}

/**
 * The audience of tokens an org's clients use at the transmitter (ENDPOINT.ssf):
 * stream management, polling and the org's live revocation stream.
 */
export function ssfAudience(issuer: string): string {
  return `${issuer}${ENDPOINT.ssf}`;
}
