import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import { VAULT_DEMO, VAULT_PATH } from "../../../../shared/contracts/vault.ts";

/**
 * The gateway's routes, declared as data: which paths of the one origin go
 * where, and what a protected route demands. Every path comes from
 * shared/contracts/endpoints.ts. A path no route names is answered 404 by
 * the gateway itself, without touching an upstream.
 *
 * Matching is on the normalised path (normalise-path.ts), most specific route
 * first: `exact` is the path itself; `below` is any path under `path/` (not
 * the path itself); `subtree` is both.
 */
export type Match = "exact" | "below" | "subtree";

/** A service binding of the gateway (wrangler.toml `[[services]]`). */
export type UpstreamBinding = "AUTHN" | "TOKEN" | "DEMO";

/**
 * Where a route's requests go: a service binding, or an https origin
 * (optionally with a base path) that receives the normalised path after it.
 */
export type Upstream = { binding: UpstreamBinding } | { url: string };

interface RouteBase {
  path: string;
  match: Match;
}

/** Login pages, the token endpoints, metadata: passed on with the caller's credentials. */
export interface PublicRouteConfig extends RouteBase {
  kind: "public";
  upstream: Upstream;
}

/** Documents the gateway answers itself, all reads: every other method is 405 (well-known/serve-local.ts). */
export const LOCAL_ROUTE_METHODS: readonly string[] = ["GET", "HEAD"];

/** Documents the gateway answers itself. */
export interface LocalRouteConfig extends RouteBase {
  kind: "local";
  handler: "protected-resource-metadata" | "gateway-jwks" | "health";
}

/**
 * A protected route: a token for its audience, revocation, the PDP, then the
 * upstream with the trusted headers and the signed assertion.
 */
export interface ProtectedRouteConfig extends RouteBase {
  kind: "protected";
  upstream: Upstream;
  /**
   * The `aud` a token must carry here (RFC 8707 §2, RFC 9068 §4), which is
   * also the audience of the gateway assertion sent upstream:
   * - `api`: the API_AUDIENCE var, shared by the REST APIs behind the gateway;
   * - `resource`: the route's own resource identifier, `<issuer><path>` —
   *   what an MCP server must use (MCP authorization, "Canonical Server URI").
   */
  audience: "api" | "resource";
  /** The resource type the PDP is asked about. */
  resource: string;
  /** The HTTP methods served, each with the action the PDP is asked about. */
  methods: Readonly<Record<string, string>>;
  /**
   * Scopes every token must carry here; missing ones are refused with
   * `insufficient_scope` naming them (RFC 6750 §3.1). For MCP routes they are
   * also the metadata's `scopes_supported` and the challenges' `scope`.
   * Empty: the policy alone decides (today's documents and echo routes).
   */
  scopes: readonly string[];
  /**
   * An MCP server (streamable HTTP): RFC 9728 metadata is served for it,
   * challenges name it, and the JSON-RPC method and tool are PDP inputs.
   */
  mcp: boolean;
  /**
   * Whether the downstream may answer with active content (HTML, SVG,
   * scripts) served as the identity origin (forward/downstream-response.ts).
   */
  allowActiveContent: boolean;
  /**
   * What the gateway does when it cannot vouch for the org's revocations
   * (no view, or the org's object unreachable for longer than
   * REVOCATION_HARD_LIMIT_MS: trust/revocation-view.ts):
   * - `fail-closed` (absent = this): 503 `temporarily_unavailable`;
   * - `last-known`: decide on the last view the isolate holds, however old
   *   (a revocation it knew of still refuses; one it never heard of does
   *   not), audited `revocation: "last_known"`. Only for a route whose
   *   availability matters more than the staleness bound.
   */
  whenRevocationUnavailable?: "fail-closed" | "last-known";
  /**
   * Served with a saved connection (the token Worker's vault): the gateway
   * puts the saved upstream token for this resource on the request as its
   * `Authorization`, chosen and decrypted by the token Worker for this
   * subject and agent (shared/contracts/vault.ts). Absent: no saved token.
   */
  savedConnection?: { resource: string };
}

export type RouteConfig = PublicRouteConfig | LocalRouteConfig | ProtectedRouteConfig;

const AUTHN: Upstream = { binding: "AUTHN" };
const TOKEN: Upstream = { binding: "TOKEN" };
const DEMO: Upstream = { binding: "DEMO" };

const READ = { GET: "read", HEAD: "read" } as const;

export const ROUTES: readonly RouteConfig[] = [
  // The edge pages and Better Auth's API: the authn Worker sets the session cookie.
  { kind: "public", path: ENDPOINT.home, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.signIn, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.signUp, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.signOut, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.app, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.sessionToken, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.authApi, match: "below", upstream: AUTHN },
  // The operator console: pages for operators and org admins, session-authenticated by the authn Worker.
  { kind: "public", path: ENDPOINT.console, match: "subtree", upstream: AUTHN },
  // The browser OpenID provider's consent page (the authorize endpoint is below authApi).
  { kind: "public", path: ENDPOINT.consent, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.twoFactor, match: "exact", upstream: AUTHN },
  // The account page, its forms and its WebAuthn script.
  { kind: "public", path: ENDPOINT.account, match: "subtree", upstream: AUTHN },
  // Email flows and the sign-in unlock (authn pages); the dev mailbox is 404 there unless
  // MAIL_TRANSPORT=dev-mailbox on a loopback issuer (workers/authn/src/email/dev-mailbox-access.ts).
  { kind: "public", path: ENDPOINT.verifyEmail, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.forgotPassword, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.resetPassword, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.unlockSignIn, match: "exact", upstream: AUTHN },
  { kind: "public", path: ENDPOINT.devMailbox, match: "exact", upstream: AUTHN },
  // SCIM 2.0 provisioning: the authn Worker checks the org's SCIM bearer token itself.
  { kind: "public", path: ENDPOINT.scim, match: "below", upstream: AUTHN },
  // The token Worker's endpoints and metadata; its admin API authenticates operators itself.
  { kind: "public", path: ENDPOINT.token, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.revocation, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.introspection, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.hostBootstrap, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.clientRegistration, match: "below", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.jwks, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.authorizationServerMetadata, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.openIdConfiguration, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.admin, match: "below", upstream: TOKEN },
  // The saved-token vault's connection flow (the person's session cookie passes); nothing there reveals a token.
  { kind: "public", path: VAULT_PATH.base, match: "subtree", upstream: TOKEN },
  // The agent API (MCP discovery, access requests): the token Worker authenticates the agent's token itself.
  { kind: "public", path: ENDPOINT.agentApi, match: "below", upstream: TOKEN },
  // The Shared Signals transmitter: its metadata, and everything below /ssf (each call carries an org client's token).
  { kind: "public", path: ENDPOINT.ssfConfiguration, match: "exact", upstream: TOKEN },
  { kind: "public", path: ENDPOINT.ssf, match: "below", upstream: TOKEN },
  // The gateway's own documents: RFC 9728 metadata (root and path-suffixed forms) and its assertion keys.
  { kind: "local", path: ENDPOINT.protectedResourceMetadata, match: "subtree", handler: "protected-resource-metadata" },
  { kind: "local", path: ENDPOINT.gatewayJwks, match: "exact", handler: "gateway-jwks" },
  // Liveness of the gateway and of each Worker it binds (observability/health.ts).
  { kind: "local", path: ENDPOINT.health, match: "exact", handler: "health" },
  {
    kind: "protected",
    path: ENDPOINT.documents,
    match: "subtree",
    upstream: DEMO,
    audience: "api",
    resource: "documents",
    methods: READ,
    scopes: [],
    mcp: false,
    allowActiveContent: false,
  },
  {
    // Demo only: the demo service echoes the request it received, so tests
    // can see exactly what crosses the gateway.
    kind: "protected",
    path: ENDPOINT.demoEcho,
    match: "subtree",
    upstream: DEMO,
    audience: "api",
    resource: "demo-echo",
    methods: READ,
    scopes: [],
    mcp: false,
    allowActiveContent: false,
  },
  {
    // Demo only: the echo service reached with a saved connection, so tests
    // see the saved upstream token arrive and the caller's token not.
    kind: "protected",
    path: VAULT_DEMO.path,
    match: "exact",
    upstream: DEMO,
    audience: "api",
    resource: "demo-echo",
    methods: READ,
    scopes: [],
    mcp: false,
    allowActiveContent: false,
    savedConnection: { resource: VAULT_DEMO.resource },
  },
  {
    // The demo MCP server (workers/demo/src/mcp.ts). Streamable HTTP is one
    // POST per JSON-RPC message; GET and DELETE are refused with 405, as the
    // transport's current revision asks of a server without sessions.
    kind: "protected",
    path: ENDPOINT.mcpDemo,
    match: "exact",
    upstream: DEMO,
    audience: "resource",
    resource: "mcp-demo",
    methods: { POST: "call" },
    scopes: [SCOPE.documentsRead],
    mcp: true,
    allowActiveContent: false,
  },
];
