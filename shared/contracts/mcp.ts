import { ENDPOINT } from "./endpoints.ts";
import { OIDC_CLIENT_ID_PREFIX } from "./oidc.ts";
import { SCOPE } from "./scopes.ts";
import { FIRST_PARTY_CLIENT_ID } from "./tokens.ts";

/**
 * MCP servers behind the gateway and agent access to them, spelled once:
 * the token Worker's registry (workers/token/src/mcp/), the gateway's MCP
 * routes (workers/gateway/src/mcp/), the CLI and the tests read these.
 */

/** Registered servers are fronted at `<MCP_PATH_PREFIX>/<name>`; the demo's is ENDPOINT.mcpDemo below it. */
export const MCP_PATH_PREFIX = "/mcp";

/** A server name: one path segment, lowercase, so `/mcp/<name>` is already normalised. */
export const MCP_SERVER_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** A tool name (MCP "Tools": 1–128 characters of this set). */
export const MCP_TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export const MCP_TOOL_SENSITIVITY = ["normal", "sensitive"] as const;
export type McpToolSensitivity = (typeof MCP_TOOL_SENSITIVITY)[number];

export interface McpTool {
  name: string;
  /** A `sensitive` tool is refused to an agent at the gateway unless a live grant names it. */
  sensitivity: McpToolSensitivity;
}

/** The gateway's service bindings a server may name as its upstream (never AUTHN or TOKEN). */
export const MCP_UPSTREAM_BINDINGS = ["DEMO"] as const;
export type McpUpstreamBinding = (typeof MCP_UPSTREAM_BINDINGS)[number];

export type McpUpstream = { binding: McpUpstreamBinding } | { url: string };

export const MCP_SERVER_STATUS = ["active", "disabled"] as const;
export type McpServerStatus = (typeof MCP_SERVER_STATUS)[number];

/** What the gateway needs of one org's server to front it (TokenService.mcpServer). */
export interface McpServerRoute {
  orgId: string;
  name: string;
  /** `<issuer>/mcp/<name>`: the `aud` its tokens carry (RFC 8707, MCP "Canonical Server URI"). */
  resource: string;
  upstream: McpUpstream;
  scopes: string[];
  tools: McpTool[];
  status: McpServerStatus;
  /**
   * Served with a saved connection (docs/vault.md): the vault resource whose
   * saved token the upstream gets instead of the caller's. `""` when the
   * provider the server names is gone: the vault finds nothing (fail closed).
   */
  savedConnection?: { resource: string };
}

/**
 * Whether a server at this upstream URL may be sent the saved token of a
 * vault provider serving `resource` (RFC 8707 §2: a token is for its
 * resource): the upstream is at the https origin of the resource. A
 * resource that is no https URL matches no upstream URL.
 */
export function upstreamServesResource(upstream: string, resource: string): boolean {
  if (!URL.canParse(upstream) || !URL.canParse(resource)) return false;
  const target = new URL(resource);
  return target.protocol === "https:" && target.origin === new URL(upstream).origin;
}

/** The PDP's resource type for a server: `mcp-<name>` (the demo's is `mcp-demo`). */
export function mcpResourceType(name: string): string {
  return `mcp-${name}`;
}

export function mcpServerPath(name: string): string {
  return `${MCP_PATH_PREFIX}/${name}`;
}

export function mcpResource(issuer: string, name: string): string {
  return `${issuer}${mcpServerPath(name)}`;
}

/**
 * The demo MCP server (workers/demo/src/mcp.ts): in every org's registry
 * without being stored, fronted by the gateway's own route at
 * ENDPOINT.mcpDemo. Its name is reserved: no org registers `demo`.
 */
export const DEMO_MCP_SERVER = {
  name: "demo",
  upstream: { binding: "DEMO" } as McpUpstream,
  scopes: [SCOPE.documentsRead],
  tools: [
    { name: "list_documents", sensitivity: "normal" },
    { name: "purge_documents", sensitivity: "sensitive" },
  ] as McpTool[],
  description: "The demo MCP server: list_documents (harmless) and purge_documents (sensitive)",
  owner: "platform",
} as const;

/** `on_behalf_of` for an agent acting as itself, for its org (not for a person). */
export const ON_BEHALF_OF_ORG = "org";

export const ACCESS_REQUEST_STATUS = ["pending", "approved", "denied", "expired"] as const;
export type AccessRequestStatus = (typeof ACCESS_REQUEST_STATUS)[number];

export const MCP_GRANT_STATUS = ["active", "revoked"] as const;
export type McpGrantStatus = (typeof MCP_GRANT_STATUS)[number];

/** How long a request waits for a decision before it expires. */
export const ACCESS_REQUEST_PENDING_SECONDS = 7 * 86_400;
/**
 * How many undecided requests one agent may have in its org at a time: each
 * is a row, an audit event and a signed notice to the org's webhook, and an
 * agent is any client holding a token for the API audience (a third party's
 * MCP client a person authorized included), so its asking is bounded.
 */
export const MAX_PENDING_ACCESS_REQUESTS = 20;
/** The longest grant an agent may ask for, or an operator give. */
export const MAX_GRANT_TTL_SECONDS = 90 * 86_400;
/** What a request that names no TTL asks for. */
export const DEFAULT_GRANT_TTL_SECONDS = 86_400;

/**
 * A live grant as the gateway consults it (TokenService.mcpGrants): which
 * tools of one server one agent may call, and for whom.
 */
export interface McpGrantCover {
  id: string;
  tools: string[];
  scopes: string[];
  /** ON_BEHALF_OF_ORG or a user id: the `sub` a delegated token must carry to use it. */
  onBehalfOf: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * The live grant that lets this agent call this tool for this principal, if
 * any: an agent acting as itself (`sub` is its client_id) needs an `org`
 * grant; one acting for a person (RFC 8693 `act`) needs that person's.
 */
export function coveringGrant(
  grants: readonly McpGrantCover[],
  tool: string,
  onBehalfOf: string,
  now: number,
): McpGrantCover | undefined {
  return grants.find((g) => g.expiresAt > now && g.onBehalfOf === onBehalfOf && g.tools.includes(tool));
}

/** The `typ` of a signed notification (workers/token/src/mcp/notify.ts; RFC 8725 §3.11). */
export const ACCESS_EVENT_JWT_TYP = "mono-access-event+jwt";

export const ACCESS_EVENT = {
  requested: "access_request.created",
  approved: "access_request.approved",
  denied: "access_request.denied",
  grantRevoked: "grant.revoked",
} as const;
export type AccessEventType = (typeof ACCESS_EVENT)[keyof typeof ACCESS_EVENT];

/** The agent API (token Worker, through the gateway): discovery and access requests. */
export const AGENT_API = {
  prefix: ENDPOINT.agentApi,
  /** GET: the MCP servers and tools the caller may reach. */
  mcpServers: `${ENDPOINT.agentApi}/mcp-servers`,
  /** POST: ask for access; GET: the caller's own requests. */
  accessRequests: `${ENDPOINT.agentApi}/access-requests`,
} as const;

/**
 * Who an access token is as an agent: a client acting as itself (`sub` is
 * its client_id) is the agent for its org; a delegated token's current
 * actor (RFC 8693 §4.1 `act`) is the agent, for the person in `sub`; so is
 * any other client holding a token about a person without being them: one
 * the person authorized in the browser (an MCP client's authorization code
 * token: an operator-registered `oidc_` client, or a Client ID Metadata
 * Document's https URL), or an agent that redeemed an ID-JAG for them
 * (jwt-bearer: `sub` the person, `client_id` the agent, no `act`). Only a
 * person's own token, the first-party app's (FIRST_PARTY_CLIENT_ID), is no
 * agent (undefined): policy alone decides for them. Everything else is
 * gated, so a new way of minting for a person is an agent until said
 * otherwise.
 */
export function agentPrincipal(claims: {
  sub: string;
  client_id: string;
  act?: { sub: string; client_id?: string };
}): { clientId: string; onBehalfOf: string } | undefined {
  if (claims.act) return { clientId: claims.act.client_id ?? claims.act.sub, onBehalfOf: claims.sub };
  if (claims.sub === claims.client_id) return { clientId: claims.client_id, onBehalfOf: ON_BEHALF_OF_ORG };
  if (claims.client_id === FIRST_PARTY_CLIENT_ID) return undefined;
  return { clientId: claims.client_id, onBehalfOf: claims.sub };
}

/** A client of the browser (authorization code) provider: operator- or self-registered, or known by its metadata document's URL. */
export function isBrowserFlowClientId(clientId: string): boolean {
  return clientId.startsWith(OIDC_CLIENT_ID_PREFIX) || clientId.startsWith("https://");
}

/**
 * The `resource.attributes` the gateway gives the PDP for an MCP
 * `tools/call` (docs/policy.md): the tool's registered sensitivity, and
 * whether a live grant of the calling agent names the tool — so a policy
 * can allow a sensitive tool to granted agents only.
 */
export const MCP_RESOURCE_ATTRIBUTE = { sensitivity: "tool_sensitivity", granted: "granted" } as const;

/** Which agent's grants, at which server of which org. */
export interface McpGrantQuery {
  orgId: string;
  clientId: string;
  server: string;
}

/**
 * The token Worker's `McpRegistryService` entrypoint (service binding
 * `MCP_REGISTRY` of the gateway): the registry and live grants, read from D1.
 */
export interface McpRegistryRpc {
  /** Every org's active server of this name (the demo for `demo`). */
  serversNamed(name: string): Promise<McpServerRoute[]>;
  /**
   * Every name some org has an active server of, the demo's included: the
   * gateway answers a name not in it 404 without asking for that name, so
   * made-up `/mcp/<name>` paths cost no D1 read each.
   */
  activeServerNames(): Promise<string[]>;
  /** The agent's live grants at the server. */
  liveGrants(query: McpGrantQuery): Promise<McpGrantCover[]>;
}

/** Whether an audience is an MCP server's resource identifier on this issuer (`<issuer>/mcp/<name>`). */
export function isMcpResource(issuer: string, audience: string): boolean {
  const prefix = `${issuer}${MCP_PATH_PREFIX}/`;
  return audience.startsWith(prefix) && MCP_SERVER_NAME.test(audience.slice(prefix.length));
}
